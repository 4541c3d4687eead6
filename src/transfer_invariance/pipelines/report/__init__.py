"""Stage pipeline: report (metric tables -> CSV, Markdown and figures)."""

from transfer_invariance.pipelines.report.pipeline import collect, create_pipeline, tables

__all__ = ["collect", "create_pipeline", "tables"]
