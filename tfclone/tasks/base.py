"""The Task interface the Trainer drives (after Model Garden's "single-replica view of training")."""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional, Tuple

import keras
import tensorflow as tf
from absl import logging

from tfclone.data.pipeline import DataError


class Task:
    """Subclasses build the model and inputs and compute one replica's loss; the Trainer owns the loop,
    the strategy, the optimizer, checkpoints and the writing of summaries."""

    name = "task"
    metric_names: Tuple[str, ...] = ("loss",)
    # Whether tf.data can checkpoint the input iterator; if not, a resumed run reseeds it with the step.
    input_checkpointable = True
    # > 0: the Trainer keeps an exponential moving average of the model's weights in a second model,
    # checkpointed as "ema_model" (export reads it from there).
    ema_decay = 0.0

    def __init__(self, config):
        self.config = config

    def build_model(self) -> keras.Model:
        raise NotImplementedError

    def build_loss(self) -> Optional[keras.layers.Layer]:
        """A layer holding trainable loss parameters (GE2E's w and b), or None."""
        return None

    def build_inputs(self, data_dir: str, split: str = "train",
                     input_context: Optional[tf.distribute.InputContext] = None,
                     seed_offset: int = 0) -> tf.data.Dataset:
        raise NotImplementedError

    def global_batch_size(self) -> int:
        """What a replica's summed per-example loss is divided by."""
        return self.config.train.batch_size

    def compute_loss(self, model, loss_layer, batch, training: bool = True,
                     step: Optional[tf.Tensor] = None) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
        """One replica's batch -> (sum of per-example losses, {metric: per-replica mean}). `step` is the
        global step, for terms scheduled by it."""
        raise NotImplementedError

    def summary_dataset(self, config, data_dir: str, split: str):
        """The dataset of `split` (with `config`, whose input is deterministic) whose first batch `summarize`
        draws its pictures from; None: no pictures."""
        return None

    def fixed_order_config(self):
        """The config with deterministic input (fixed order and crops): what summaries and evaluations read."""
        return dataclasses.replace(self.config, data=dataclasses.replace(self.config.data, deterministic=True))

    def summary_batch(self, data_dir: str):
        """A fixed local batch: the first of the validation split, else of train; None if neither has one."""
        if type(self).summary_dataset is Task.summary_dataset:
            return None
        for split in ("validation", "train"):
            try:
                return next(iter(self.summary_dataset(self.fixed_order_config(), data_dir, split)))
            except (DataError, StopIteration) as e:  # a small validation split may not fill a batch
                logging.info("no %s summary batch: %s", split, e)
        return None

    def summarize(self, model, loss_layer, batch) -> Dict:
        """Host side, chief only: {name: PNG bytes, or (waveform, sample_rate) for audio}."""
        return {}

    def evaluate(self, model, data_dir: str) -> Dict[str, float]:
        """Host side, chief only: scalar metrics on held-out data."""
        return {}


def write_views(views: Dict, folder: str) -> Dict[str, str]:
    """Task.summarize's views as files in `folder`: PNG bytes as <name>.png, (waveform, sample_rate) as
    <name>.wav, each written whole or not at all; returns {name: path}."""
    import os

    import numpy as np

    from tfclone.audio.io import save as save_audio
    from tfclone.fileio import atomic_write_bytes

    paths = {}
    for name, view in views.items():
        paths[name] = os.path.join(folder, name + (".png" if isinstance(view, bytes) else ".wav"))
        if isinstance(view, bytes):
            atomic_write_bytes(paths[name], view)
        else:
            save_audio(paths[name], np.asarray(view[0]), view[1])
    return paths
