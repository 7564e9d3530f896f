"""mu-law companding and quantization (ITU-T G.711 style), as WaveNet's 256-way softmax output uses it."""
from __future__ import annotations

import tensorflow as tf


def compress(audio, channels: int = 256) -> tf.Tensor:
    """f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu), mu = channels - 1; x in [-1, 1] -> [-1, 1]."""
    audio = tf.clip_by_value(tf.convert_to_tensor(audio, tf.float32), -1.0, 1.0)
    mu = float(channels - 1)
    return tf.sign(audio) * tf.math.log1p(mu * tf.abs(audio)) / tf.math.log1p(mu)


def expand(companded, channels: int = 256) -> tf.Tensor:
    """Inverse of `compress`: [-1, 1] -> [-1, 1]."""
    companded = tf.convert_to_tensor(companded, tf.float32)
    mu = float(channels - 1)
    return tf.sign(companded) * (tf.pow(1.0 + mu, tf.abs(companded)) - 1.0) / mu


def encode(audio, channels: int = 256) -> tf.Tensor:
    """Waveform in [-1, 1] -> int32 class ids in [0, channels - 1] (8-bit for 256 channels)."""
    scaled = (compress(audio, channels) + 1.0) / 2.0 * (channels - 1)
    return tf.cast(tf.round(scaled), tf.int32)


def decode(ids, channels: int = 256) -> tf.Tensor:
    """Class ids in [0, channels - 1] -> waveform in [-1, 1]."""
    companded = 2.0 * tf.cast(ids, tf.float32) / (channels - 1) - 1.0
    return expand(companded, channels)
