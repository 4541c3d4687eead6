import pandas as pd

from transfer_invariance.core.reporting import (
    headline_metrics,
    long_table,
    markdown_table,
    mean_sd_text,
)


def test_headline_metrics_name_every_mean_by_its_row_and_skip_sds_and_gaps():
    mean = pd.DataFrame(
        {"C/C": [11.0, 15.0], "sensitivity to O": [0.3, None]}, index=["C/C", "C+O/C"]
    )
    sd = mean.fillna(0) * 0 + 1
    mean.index.name, sd.index.name = "model", "model"
    table = long_table(mean, sd, "value")
    table.columns = ["model", "column", "value_mean", "value_sd"]
    metrics = headline_metrics(table, "harm/table1")
    assert metrics == {
        "harm/table1/C-C/C-C": 11.0,
        "harm/table1/C-C/sensitivity to O": 0.3,
        "harm/table1/CO-C/C-C": 15.0,
    }


def test_headline_metrics_keep_the_value_name_when_a_row_has_several():
    table = pd.DataFrame({"factor": ["arch"], "gap": [30.0], "spread_same": [3.6]})
    assert headline_metrics(table, "importance/spread") == {
        "importance/spread/arch/gap": 30.0,
        "importance/spread/arch/spread_same": 3.6,
    }


def test_headline_metrics_average_a_per_seed_table_over_its_seeds():
    table = pd.DataFrame(
        {
            "factor": ["arch", "arch", "arch", "arch"],
            "seed": [0, 1, 0, 1],
            "quantity": ["same - different gap"] * 2 + ["spread within same"] * 2,
            "value": [30.0, 20.0, 3.0, 5.0],
        }
    )
    assert headline_metrics(table, "importance/spread") == {
        "importance/spread/arch/same - different gap": 25.0,
        "importance/spread/arch/spread within same": 4.0,
    }


def test_a_cell_is_mean_and_sd_or_the_mean_alone_or_nothing():
    assert mean_sd_text(1.234, 0.5) == "1.2 ± 0.5"
    assert mean_sd_text(1.234, float("nan")) == "1.2"  # one seed: never "± 0.0"
    assert mean_sd_text(1.234, None, "{:.2f}") == "1.23"
    assert mean_sd_text(float("nan"), 0.5) == ""
    assert mean_sd_text(3.0, 0.25, "{:.2f}", sep="\n±") == "3.00\n±0.25"
    mean = pd.DataFrame({"x": [1.0, float("nan")]}, index=["a", "b"])
    sd = pd.DataFrame({"x": [float("nan"), 0.1]}, index=["a", "b"])
    assert markdown_table(mean, sd).splitlines()[2:] == ["| a | 1.0 |", "| b |  |"]
