"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from transfer_invariance.hooks import ParameterCheckHook

HOOKS = (ParameterCheckHook(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "parameters": ["parameters*", "parameters*/**", "**/parameters*"],
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
