"""The mismatch experiment (Section 5.2, Appendix D.3): pretraining invariances that only partly
match the target's."""

from transfer_invariance.experiments.mismatch.pipeline import create_pipeline

__all__ = ["create_pipeline"]
