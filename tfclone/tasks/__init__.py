"""One Task per model: model, inputs, loss, metrics, summaries — a single-replica view of training."""
from tfclone.tasks.base import Task


def build_task(model: str, config) -> Task:
    """Model name -> its Task, as tfclone/config/registry.py names it (ConfigError for models not trained)."""
    from tfclone.config.registry import model_spec

    return model_spec(model).build_task(config)
