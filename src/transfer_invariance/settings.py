"""Kedro project settings."""

import logging

from kedro.config import OmegaConfigLoader

from transfer_invariance.hooks import (
    ParameterCheckHook,
    ProjectSetupHook,
    RunLockHook,
    TrackingHook,
)

# Library notices a user can do nothing about: the project names datasets with dots on purpose
# (namespaces), `--pipeline` is the documented spelling, the rest come from inside the libraries.
# Kedro logs warnings through the "py.warnings" logger; some libraries reset the warning filters
# around their own code, so the notices are dropped there.
QUIET = (
    "Add type hints to the `predict` method",
    "register_new_resolver() is deprecated",
    "One or more dataset names contain '.'",
    "Option '--pipeline' is deprecated",
)
logging.getLogger("py.warnings").addFilter(
    lambda record: not any(text in record.getMessage() for text in QUIET)
)

# kedro-viz's dataset statistics need its catalog hook, which never runs in a ParallelRunner
# worker: there it warns once per saved dataset (the statistics are only missing from kedro viz)
logging.getLogger("kedro_viz.integrations.kedro.hooks").addFilter(
    lambda record: "has no attribute 'datasets'" not in record.getMessage()
)

# pluggy calls the hooks registered last first: the run lock is taken once the parameters and
# stored inputs have passed their checks (a run stopped by them leaves no lock), before any node
HOOKS = (RunLockHook(), ProjectSetupHook(), ParameterCheckHook(), TrackingHook())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # conf/paper overrides only the values it names (a deep merge over conf/base).
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
