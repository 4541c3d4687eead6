"""Runners for many trainings at once: worker processes on one machine, or a cluster."""

from typing import Any

from transfer_invariance.runners.parallel import ParallelRunner

__all__ = ["DaskRunner", "ParallelRunner"]


def __getattr__(name: str) -> Any:
    """``DaskRunner`` on first use, so that importing this package does not import Dask (an
    optional dependency: ``pip install -e ".[cluster]"``)."""
    if name == "DaskRunner":
        from transfer_invariance.runners.dask import DaskRunner

        return DaskRunner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
