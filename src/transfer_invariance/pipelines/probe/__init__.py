"""Stage pipeline: probe (linear probes on frozen backbones)."""

from transfer_invariance.pipelines.probe.pipeline import create_pipeline, template

__all__ = ["create_pipeline", "template"]
