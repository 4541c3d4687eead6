"""Nodes of the harm experiment: C and O data, the four conditions, the C.3 sweep, Table 1.

C is CIFAR-10 (``--env paper``) or the embedded natural-scene stand-in (default); O are small
Transforms-2D objects pasted on it (``core.harm_data``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from transfer_invariance.core import base_images
from transfer_invariance.core.cifar import (
    check_cifar_available,
    load_cifar,
    select,
    split_train_val,
)
from transfer_invariance.core.harm_data import compose_c_plus_o, harm_pair_sets
from transfer_invariance.core.plotting import curves_figure
from transfer_invariance.core.reporting import long_table, markdown_table, mean_sd
from transfer_invariance.core.scenes import make_scenes, scene_max_classes
from transfer_invariance.datasets.incremental import Deferred
from transfer_invariance.pipelines.common import require_int, seed_key, seed_of
from transfer_invariance.pipelines.pretrain.nodes import pretrain_models
from transfer_invariance.pipelines.probe.nodes import probe_models

C_SOURCES = ("scenes", "cifar10")
CONDITIONS = ("c_c", "co_c", "co_o", "o_o")
CONDITION_NAMES = {"c_c": "C/C", "co_c": "C+O/C", "co_o": "C+O/O", "o_o": "O/O"}


def _unit_interval(values: Any, key: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{key} must be a non-empty list of numbers in [0, 1], got {values!r}.")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
            raise ValueError(f"{key} values must be in [0, 1], got {v!r}.")
    return [float(v) for v in values]


def check_data(data: dict[str, Any], params: dict[str, Any] | None = None) -> None:
    """Validate ``harm.data`` cheaply (sizes, object count, CIFAR presence) before any work."""
    source = data.get("c_source")
    if source not in C_SOURCES:
        raise ValueError(f"c_source must be one of {C_SOURCES}, got {source!r}.")
    for key in ("n_train", "n_val", "n_test", "n_objects", "object_size", "n_pairs"):
        require_int(data.get(key), key)
    if source == "scenes":
        n_classes = require_int(data.get("n_classes"), "n_classes", 2)
        if n_classes > scene_max_classes():
            raise ValueError(
                f"n_classes = {n_classes} but the scene stand-in has {scene_max_classes()} classes."
            )
    else:
        check_cifar_available(
            data.get("cifar_root", "data/01_raw"), "cifar10", bool(data.get("download", False))
        )
    available = len(
        base_images.list_object_files(data.get("object_source", "embedded"), data.get("object_dir"))
    )
    if data["n_objects"] > available:
        raise ValueError(
            f"n_objects = {data['n_objects']} but the base image set has {available} objects."
        )
    if data["object_size"] > 32:
        raise ValueError(f"object_size = {data['object_size']} exceeds the 32 px image.")


def check_relevance(relevance: dict[str, Any], params: dict[str, Any] | None = None) -> None:
    """Validate the C.3 grids: rho and beta in [0, 1]."""
    _unit_interval(relevance.get("rhos"), "rhos")
    _unit_interval(relevance.get("betas"), "betas")
    if relevance.get("label_sources", ["c"]) and not set(relevance.get("label_sources", ["c"])) <= {
        "c",
        "o",
    }:
        raise ValueError(
            f"label_sources must be a subset of ['c', 'o'], got {relevance['label_sources']!r}."
        )


def build_c_data(data: dict[str, Any]) -> dict[str, dict]:
    """The C splits: CIFAR-10 (val carved from train) or the natural-scene stand-in."""
    if data["c_source"] == "scenes":
        return {
            split: make_scenes(
                data[f"n_{split}"], data["n_classes"], 32, data.get("c_seed", 0), split
            )
            for split in ("train", "val", "test")
        }
    root, download = data.get("cifar_root", "data/01_raw"), bool(data.get("download", False))
    train, val = split_train_val(
        load_cifar(root, "cifar10", "train", download), data["n_val"], data.get("c_seed", 0)
    )
    test = load_cifar(root, "cifar10", "test", download)
    out = {"train": train, "val": val, "test": test}
    for split in ("train", "test"):
        n = min(data[f"n_{split}"], int(out[split]["labels"].numel()))
        out[split] = select(out[split], torch.arange(n))
    return out


def load_objects(data: dict[str, Any]) -> dict[str, Any]:
    """The O objects (straight RGBA, prepared at 64 px; the composer shrinks them)."""
    offset = data.get("object_offset", 0)
    names, objects = base_images.load_objects(
        data.get("object_source", "embedded"),
        data.get("object_dir"),
        image_size=64,
        classes=offset + data["n_objects"],
    )
    return {"objects": objects[offset:], "names": list(names[offset:])}


def compose(
    c_split: dict,
    objects: dict,
    data: dict,
    condition: dict[str, Any],
    seed: int,
    split: str,
) -> dict:
    """One split of a condition's dataset for one seed.

    ``condition``: ``label`` (c | o), and optionally ``objects`` (false: none pasted), ``beta``,
    ``rho``, ``background`` (c | black), ``placement`` (uniform | upper_right).
    """
    kw = {
        "n_objects": data["n_objects"],
        "object_size": data["object_size"],
        "seed": seed,
        "split": split,
        "label_source": condition["label"],
        "beta": condition.get("beta", 1.0 if condition.get("objects", True) else 0.0),
        "background": condition.get("background", "c"),
        "placement": condition.get("placement", "uniform"),
        "rho": condition.get("rho"),
        "object_names": objects["names"],
    }
    return compose_c_plus_o(c_split, objects["objects"], **kw)


def make_condition_data(
    c_data: dict, objects: dict, data: dict, condition: dict[str, Any], seeds: list[int]
) -> dict[str, dict]:
    """A condition's train/val/test for every seed (objects re-drawn per seed)."""
    return {
        seed_key(s): {
            split: compose(c_data[split], objects, data, condition, s, split)
            for split in ("train", "val", "test")
        }
        for s in seeds
    }


def make_pair_sets(c_data: dict, objects: dict, data: dict) -> tuple[dict, dict]:
    """Pairs on C+O test inputs varying only C, and only O (shared by every model)."""
    kw = {
        "n_objects": data["n_objects"],
        "object_size": data["object_size"],
        "seed": 0,
        "split": "test",
        "object_names": objects["names"],
    }
    test = select(
        c_data["test"], torch.arange(min(data["n_pairs"], int(c_data["test"]["labels"].numel())))
    )
    return (
        harm_pair_sets(test, objects["objects"], vary="c", **kw),
        harm_pair_sets(test, objects["objects"], vary="o", **kw),
    )


# ------------------------------------------------------------------------------------ C.3 sweep


def sweep_points(relevance: dict[str, Any]) -> list[tuple[str, str, float, str]]:
    """(name, axis, value, label source) of every C.3 pretraining condition."""
    points = []
    for label in relevance.get("label_sources", ["c"]):
        points += [(f"rho={v:g}|{label}", "rho", v, label) for v in relevance["rhos"]]
        points += [(f"beta={v:g}|{label}", "beta", v, label) for v in relevance["betas"]]
    return points


def pretrain_sweep(
    c_data: dict, objects: dict, data: dict, relevance: dict, training: dict
) -> dict[str, Deferred]:
    """Pretrain on C+O_rho and C+O_beta (objects in the upper-right corner) for every seed.

    Returns deferred trainings keyed ``<point>/seed_<s>``; finished ones are never redone.
    """
    out: dict[str, Deferred] = {}
    for name, axis, value, label in sweep_points(relevance):
        cond = {"label": label, "placement": "upper_right", axis: value}
        split_data = make_condition_data(c_data, objects, data, cond, relevance["seeds"])
        deferred = pretrain_models(split_data, training, f"harm.relevance.{name}")
        out.update({f"{name}/{key}": job for key, job in deferred.items()})
    return out


def probe_sweep(
    checkpoints: dict, c_data: dict, objects: dict, data: dict, relevance: dict, probe: dict
) -> pd.DataFrame:
    """Probe every C.3 model for C and for O on C+O (upper right, independent objects, always pasted).

    The beta curve gets its beta = 1 point from the rho = 0 models (the same condition).
    """
    rows, targets_by_seed = [], {}
    for key, checkpoint in checkpoints.items():
        point, seed_part = key.split("/")
        if seed_part not in targets_by_seed:  # the same targets serve every point of a seed
            targets_by_seed[seed_part] = {
                t: make_condition_data(
                    c_data,
                    objects,
                    data,
                    {"label": t, "placement": "upper_right"},
                    [seed_of(seed_part)],
                )
                for t in ("c", "o")
            }
        targets = targets_by_seed[seed_part]
        table, _ = probe_models(
            {seed_part: checkpoint}, probe, f"harm.relevance.{point}", **targets
        )
        axis, rest = point.split("=")
        value, label = rest.split("|")
        rows.append(table.assign(axis=axis, value=float(value), pretrain_label=label))
    out = pd.concat(rows, ignore_index=True)
    # beta = 1 (an independent object always pasted) is exactly rho = 0: reuse it for the beta curve.
    if 1.0 not in relevance["betas"]:
        same = out[(out["axis"] == "rho") & (out["value"] == 0.0)]
        out = pd.concat([out, same.assign(axis="beta", value=1.0)], ignore_index=True)
    return out


def plot_relevance(metrics: pd.DataFrame) -> tuple[Figure, str]:
    """Figure 14: C and O transfer accuracy against rho and against beta (mean ± sd over seeds)."""
    import matplotlib.pyplot as plt

    labels = sorted(metrics["pretrain_label"].unique())
    fig, axes = plt.subplots(len(labels), 2, figsize=(9, 3.6 * len(labels)), squeeze=False)
    md = "### Appendix C.3: relevance and availability\n\nLinear-probe test accuracy (%) on C+O (object in the upper-right corner), mean ± sd over seeds.\n\n"
    for i, label in enumerate(labels):
        for j, axis in enumerate(("rho", "beta")):
            part = metrics[(metrics["axis"] == axis) & (metrics["pretrain_label"] == label)]
            if part.empty:
                continue
            mean, sd = mean_sd(
                part.assign(test_acc=part["test_acc"] * 100), "value", "target", "test_acc"
            )
            series = {
                f"predict {t.upper()}": (mean[t].to_numpy(), sd[t].to_numpy()) for t in mean.columns
            }
            symbol = "ρ (relevance)" if axis == "rho" else "β (availability)"
            curves_figure(
                mean.index.to_numpy(),
                series,
                f"pretrained on C+O_{axis} to predict {label.upper()}",
                symbol,
                "transfer accuracy (%)",
                ax=axes[i, j],
            )
            md += (
                f"**{axis}, pretrained to predict {label.upper()}**\n\n"
                + markdown_table(mean, sd, corner=f"{axis} \\ target")
                + "\n"
            )
    fig.tight_layout()
    return fig, md


# ------------------------------------------------------------------------------------- Table 1


def table1(
    probe_metrics: pd.DataFrame, sensitivity: pd.DataFrame
) -> tuple[pd.DataFrame, str, Figure]:
    """Table 1: the 4x4 probe accuracies and the sensitivities to C and O, with the findings in words."""
    names = [CONDITION_NAMES[c] for c in CONDITIONS]
    acc = probe_metrics.assign(
        model=probe_metrics["model"].map(CONDITION_NAMES),
        target=probe_metrics["target"].map(CONDITION_NAMES),
        test_acc=probe_metrics["test_acc"] * 100,
    )
    acc_mean, acc_sd = mean_sd(acc, "model", "target", "test_acc", names, names)
    sens = sensitivity.assign(
        model=sensitivity["model"].map(CONDITION_NAMES),
        pairs=sensitivity["pairs"].map(
            {"vary_c": "sensitivity to C", "vary_o": "sensitivity to O"}
        ),
    )
    sens_mean, sens_sd = mean_sd(
        sens, "model", "pairs", "sensitivity_l2", names, ["sensitivity to C", "sensitivity to O"]
    )
    n_seeds = probe_metrics["seed"].nunique()

    table = pd.concat([acc_mean, sens_mean], axis=1)
    table_sd = pd.concat([acc_sd, sens_sd], axis=1)
    csv = long_table(table, table_sd, "value").rename(columns={"level_1": "column"})
    md = (
        "## Table 1: transfer accuracy and sensitivity\n\n"
        f"Rows: pretraining condition (features/label). Accuracy columns: linear-probe test accuracy (%) on each "
        f"dataset; sensitivity: L2 sensitivity score of the penultimate representation on C+O inputs (0 = invariant, "
        f"1 = as different as unrelated inputs). Mean ± sd over {n_seeds} seed(s).\n\n"
        + markdown_table(acc_mean, acc_sd, "{:.1f}", corner="model \\ probed on")
        + "\n"
        + markdown_table(sens_mean, sens_sd, "{:.2f}", corner="model")
        + "\n"
        + findings(acc_mean, sens_mean)
    )

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(12, 4.6))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    _heat(left, acc_mean, acc_sd)
    x = np.arange(len(names))
    for k, col in enumerate(sens_mean.columns):
        right.bar(
            x + (k - 0.5) * 0.38, sens_mean[col], 0.38, yerr=sens_sd[col], capsize=3, label=col
        )
    right.set_xticks(x, names)
    right.set_ylabel("L2 sensitivity (0 = invariant)")
    right.set_title("Sensitivity on C+O inputs", fontsize=10)
    right.legend(fontsize=8)
    fig.suptitle(f"Harm experiment (Table 1), mean ± sd over {n_seeds} seed(s)", fontsize=11)
    fig.tight_layout()
    return csv, md, fig


def _heat(ax: Any, mean: pd.DataFrame, sd: pd.DataFrame) -> None:
    im = ax.imshow(mean.to_numpy(), cmap="viridis", vmin=0, vmax=100)
    ax.set_xticks(range(len(mean.columns)), [f"probe {c}" for c in mean.columns], rotation=20)
    ax.set_yticks(range(len(mean.index)), [f"pretrain {r}" for r in mean.index])
    for i in range(mean.shape[0]):
        for j in range(mean.shape[1]):
            v = mean.iat[i, j]
            ax.text(
                j,
                i,
                f"{v:.1f}\n±{sd.iat[i, j]:.1f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if v < 50 else "black",
            )
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title("Linear-probe test accuracy (%)", fontsize=10)


def findings(acc: pd.DataFrame, sens: pd.DataFrame) -> str:
    """The paper's qualitative findings, each checked against the measured numbers."""
    sc, so = "sensitivity to C", "sensitivity to O"

    def verdict(ok: bool) -> str:
        return "**holds**" if ok else "**does not hold at this size**"

    f1 = (
        acc.loc["C+O/C", "C+O/O"] < acc.loc["C/C", "C+O/O"]
        and sens.loc["C+O/C", so] < sens.loc["C/C", so]
    )
    f2 = (
        acc.loc["C+O/O", "C+O/C"] < acc.loc["O/O", "C+O/C"]
        and sens.loc["C+O/O", sc] < sens.loc["O/O", sc]
    )
    own = {"C/C": sc, "C+O/C": sc, "C+O/O": so, "O/O": so}
    per_model = {
        m: bool(sens.loc[m, own[m]] > sens.loc[m, so if own[m] == sc else sc]) for m in own
    }
    lines = [
        "### Findings (checked against the numbers above)\n",
        f"1. A model pretrained on C+O to predict C is worse at predicting O on C+O after probing than a model pretrained on C alone "
        f"({acc.loc['C+O/C', 'C+O/O']:.1f}% vs {acc.loc['C/C', 'C+O/O']:.1f}%), and its representation is less sensitive to O "
        f"({sens.loc['C+O/C', so]:.2f} vs {sens.loc['C/C', so]:.2f}): {verdict(f1)}.",
        f"2. Symmetrically, a model pretrained on C+O to predict O is worse at predicting C on C+O than a model pretrained on O alone "
        f"({acc.loc['C+O/O', 'C+O/C']:.1f}% vs {acc.loc['O/O', 'C+O/C']:.1f}%), and its representation is less sensitive to C "
        f"({sens.loc['C+O/O', sc]:.2f} vs {sens.loc['O/O', sc]:.2f}): {verdict(f2)}.",
        "3. Each model is most sensitive to the feature it was trained to predict: "
        + "; ".join(
            f"{m} (trained on {own[m][-1]}): C {sens.loc[m, sc]:.2f}, O {sens.loc[m, so]:.2f} {'yes' if ok else 'no'}"
            for m, ok in per_model.items()
        )
        + f". {verdict(all(per_model.values())) if all(per_model.values()) else f'**holds for {sum(per_model.values())} of 4 models**'}.",
    ]
    if not per_model["O/O"]:
        lines.append(
            "\n   O/O never saw a C background during pretraining. On C+O inputs the unfamiliar background"
            " dominates its representation: a model cannot become invariant to a feature that was not"
            " available in its training data (the availability effect of Appendix C.3)."
        )
    return "\n".join(lines) + "\n"
