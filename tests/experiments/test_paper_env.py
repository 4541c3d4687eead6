"""Every experiment runs in the paper environment (``--env paper``), shrunk to seconds.

The overrides change sizes, seeds and the number of grid values (the paper's grids would take
minutes even when tiny), never the keys: every block of conf/paper is read, validated and used,
with tiny fake CIFAR-10 / CIFAR-100 archives standing in for the real ones.
"""

from pathlib import Path

import pytest
from fake_cifar import write_fake_cifar

TINY_TRAINING = {"width": 0.125, "epochs": 1, "batch_size": 16, "progress": False}
TINY_PROBE = {"epochs": 2, "progress": False}
RAW = "data/01_raw"

SHRUNK = {
    "harm": {
        "harm": {
            "seeds": [0],
            "data": {"n_train": 60, "n_val": 20, "n_test": 30, "n_pairs": 20, "cifar_root": RAW},
            "training": TINY_TRAINING,
            "probe": TINY_PROBE,
            "invariance": {"n_random_pairs": 50},
            "grid": {"rhos": [0.0, 1.0], "betas": [0.5], "seeds": [0]},
        }
    },
    "importance": {
        "importance": {
            "grid": {
                "reference": {"pretrain_samples": 40, "probe_samples": 40},
                "factors": {
                    "pretrain_samples": [40],
                    "arch": ["resnet18", "vit"],
                    "classes": ["disjoint"],
                    "probe_samples": [40],
                },
                "real_world": {
                    "cifar10": {
                        "reference": {"pretrain_samples": 5, "probe_samples": 20},
                        "factors": {
                            "pretrain_samples": [5],
                            "arch": ["resnet18"],
                            "classes": ["disjoint"],
                            "probe_samples": [20],
                        },
                    },
                    "cifar100": {
                        "reference": {"pretrain_samples": 2, "probe_samples": 50},
                        "factors": {
                            "pretrain_samples": [2],
                            "arch": ["resnet18"],
                            "classes": ["disjoint"],
                            "probe_samples": [50],
                        },
                    },
                },
            },
            "seeds": [0],
            "data": {"n_val": 16, "n_test": 16, "target_n_train": 40},
            "training": {
                "resnet18": TINY_TRAINING,
                "vit": {"epochs": 1, "warmup_epochs": 0, "batch_size": 16, "progress": False},
            },
            "probe": TINY_PROBE,
            "finetune": {"n_samples": [20], "epochs": 1, "probe_epochs": 2, "batch_size": 16},
            "real_world": {
                "cifar10": {
                    "data": {"cifar_root": RAW, "val_per_class": 2},
                    "finetune": {"n_samples": [10], "epochs": 1, "probe_epochs": 2},
                },
                "cifar100": {
                    "data": {"cifar_root": RAW, "val_per_class": 1},
                    "finetune": {"n_samples": [20], "epochs": 1, "probe_epochs": 2},
                },
            },
        }
    },
    "transfer": {
        "transfer": {
            "grid": {"types": ["rotate", "hue"]},
            "seeds": [0],
            "data": {"n_train": 48, "n_val": 16, "n_test": 16, "n_pairs": 12, "cifar_root": RAW},
            "training": TINY_TRAINING,
            "invariance": {"n_random_pairs": 50},
        }
    },
    "mismatch": {
        "mismatch": {
            "seeds": [0],
            "grid": {"n_types": 3},
            "data": {
                "pretraining": {"n_train": 32, "n_val": 12, "n_test": 12},
                "target": {"n_train": 24, "n_val": 12, "n_test": 12},
            },
            "training": TINY_TRAINING,
            "probe": TINY_PROBE,
        }
    },
}
REPORTS = {
    "harm": ["table1.md", "relevance.png"],
    "importance": ["tables.md", "cifar10_tables.md", "cifar100_tables.md", "cifar100_finetune.md"],
    "transfer": ["table2.md"],
    "mismatch": ["table.md", "figure4.png"],
}


@pytest.mark.parametrize("experiment", list(SHRUNK))
def test_the_paper_environment_runs_every_experiment(kedro_project, experiment):
    write_fake_cifar(Path(RAW), "cifar10", 60)
    write_fake_cifar(Path(RAW), "cifar100", 500)
    params = {**SHRUNK[experiment], "render": {"progress": False}}
    kedro_project(experiment, params, env="paper")
    out = Path("data/08_reporting") / experiment
    for name in REPORTS[experiment]:
        assert (out / name).exists(), f"{experiment}: {name} missing"
