"""transfer-invariance: Transforms-2D data, pretraining, transfer and invariance measurement."""

__version__ = "0.1.0"
