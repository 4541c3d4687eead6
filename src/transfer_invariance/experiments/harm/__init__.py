"""The harm experiment (Section 4.2, Appendix C.3): irrelevant features make models invariant to them."""

from transfer_invariance.experiments.harm.pipeline import create_pipeline

__all__ = ["create_pipeline"]
