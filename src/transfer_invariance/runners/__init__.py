"""Runners for many trainings at once: worker processes on one machine, or a cluster."""

from transfer_invariance.runners.parallel import ParallelRunner

__all__ = ["ParallelRunner"]
