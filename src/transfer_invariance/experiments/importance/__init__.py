"""The importance experiment (Section 4.1, Appendix C.2): how much the right invariances matter for
transfer compared to pretraining samples, architecture, class relationship and target samples."""

from transfer_invariance.experiments.importance.pipeline import create_pipeline

__all__ = ["create_pipeline"]
