"""Learning-rate schedules and the optimizer, from TrainConfig."""
from __future__ import annotations

import keras
import tensorflow as tf

from tfclone.config.experiments import TrainConfig


@keras.saving.register_keras_serializable(package="tfclone")
class WarmupExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then peak * rate^((step - warmup) / decay_steps),
    never below `floor`. warmup_steps=0 and rate=1 give a constant rate."""

    def __init__(self, peak: float, warmup_steps: int = 0, decay_steps: int = 1, rate: float = 1.0,
                 floor: float = 0.0):
        self.peak, self.warmup_steps, self.decay_steps, self.rate, self.floor = (
            peak, warmup_steps, decay_steps, rate, floor)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = self.peak * tf.minimum(1.0, (step + 1.0) / max(1, self.warmup_steps)) if self.warmup_steps \
            else tf.constant(self.peak)
        decayed = self.peak * tf.pow(self.rate, tf.maximum(0.0, step - self.warmup_steps) / self.decay_steps)
        lr = tf.where(step < self.warmup_steps, warm, decayed)
        return tf.maximum(lr, self.floor)

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps, "decay_steps": self.decay_steps,
                "rate": self.rate, "floor": self.floor}


def learning_rate_schedule(train: TrainConfig) -> WarmupExponentialDecay:
    if train.lr_schedule == "constant":
        return WarmupExponentialDecay(train.learning_rate, floor=train.learning_rate)
    warmup = train.warmup_steps if train.lr_schedule == "warmup_exponential" else 0
    return WarmupExponentialDecay(train.learning_rate, warmup, train.decay_steps, train.decay_rate,
                                  train.min_learning_rate)


def build_optimizer(train: TrainConfig) -> keras.optimizers.Optimizer:
    """Adam on the schedule. Clipping and loss scaling are done by the Trainer on all-reduced gradients."""
    return keras.optimizers.Adam(learning_rate=learning_rate_schedule(train))
