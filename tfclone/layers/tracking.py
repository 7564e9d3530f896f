"""Keras 3 tracks layers kept in Python lists for its own `weights`, but tf.train.Checkpoint does not see
them (Keras converts its tracked lists only for SavedModel). Every model here exposes such layers as
attributes too, and the Trainer and export check that no variable is left out of checkpoints."""
from __future__ import annotations

from typing import Iterable, List

import tensorflow as tf


def track_for_checkpoints(owner, layers: Iterable) -> None:
    """Makes each layer a direct dependency of `owner` under its own name (for tf.train.Checkpoint)."""
    for layer in layers:
        owner._track_trackable(layer, name=f"_ckpt_{layer.name}", overwrite=True)  # pylint: disable=protected-access


def untracked_variables(model) -> List[str]:
    """Paths of the model's variables that a tf.train.Checkpoint(model=model) would not save."""
    reachable = {id(t) for t in tf.train.TrackableView(model).descendants()}
    missing = []
    for variable in model.weights:
        handles = (variable, getattr(variable, "value", None), getattr(variable, "_value", None))
        if not any(id(h) in reachable for h in handles if h is not None):
            missing.append(variable.path)
    return missing
