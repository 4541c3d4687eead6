"""The toy experiment: does pretraining with a transformation make a model invariant to it?

The worked example of ``docs/adding_an_experiment.md``: the smallest experiment in the project's
shape, which tests/experiments/test_toy.py registers as ``transfer_invariance.experiments.toy``.
"""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
