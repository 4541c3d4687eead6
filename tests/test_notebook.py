"""notebooks/results.ipynb runs top to bottom after the README's main job, headlessly."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "results.ipynb"
TINY = {  # tests/experiments/test_harm.py, with one seed
    "harm": {
        "seeds": [0],
        "data": {"n_train": 60, "n_val": 20, "n_test": 30, "n_pairs": 20},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32},
        "probe": {"epochs": 3},
        "invariance": {"n_random_pairs": 50},
        "grid": {"rhos": [0.0, 1.0], "betas": [0.5], "seeds": [0]},
    }
}


def _texts(nb) -> str:
    """Every text the executed notebook shows: streams, Markdown and plain-text displays."""
    out = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            out.append(output.get("text", ""))
            data = output.get("data", {})
            out += [data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(out)


def test_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_shows_the_results_after_the_main_job(kedro_project, project_dir):
    kedro_project("harm", TINY)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = {**os.environ, "DO_NOT_TRACK": "true", "MLFLOW_ENABLE_TELEMETRY": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(project_dir)}},  # the kernel's cwd: the project
    )
    client.execute(env=env)  # raises CellExecutionError on the first failing cell
    text = _texts(nb)
    assert "Table 1" in text and "sensitivity to O" in text
    assert "Source: the evaluation notebooks" in text  # the paper's numbers, then Table 1 beside
    assert "(paper 15)" in text and "**Reduced size**" in text  # them, at a reduced size
    assert "(~1.0)" in text  # Figure 4 of the paper, shown before mismatch has run
    assert "Appendix C.3" in text
    assert "kedro run --pipeline=importance" in text
    assert "kedro run --pipeline=transfer" in text and "kedro run --pipeline=mismatch" in text
    assert "kedro run --pipeline=study" in text  # no galleries of the study's datasets yet
    # the trainings of this run, read from this project's mlflow.db (4 conditions + 3 grid points)
    assert f"7 pretrainings tracked in sqlite:///{project_dir}" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 2 + 2 + 1  # Table 1, C.3, two galleries, the harm training curves
