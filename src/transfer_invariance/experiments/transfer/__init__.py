"""The transfer experiment (Section 5.1, Appendix D.2): how far learned invariance transfers."""

from transfer_invariance.experiments.transfer.pipeline import create_pipeline

__all__ = ["create_pipeline"]
