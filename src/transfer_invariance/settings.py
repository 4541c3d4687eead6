"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from transfer_invariance.hooks import ParameterCheckHook

HOOKS = (ParameterCheckHook(),)

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
