"""WaveNet losses: the negative log-likelihood of every sample under the network's output distribution,
a 256-way mu-law softmax or a discretized mixture of logistics (PixelCNN++). Per example ([B]) like the
other losses, so the Trainer divides the batch sum by the global batch."""
from __future__ import annotations

import math

import tensorflow as tf

from tfclone.audio import mulaw

MOL_BITS = 16
LOG_SCALE_MIN = -14.0  # log of the smallest logistic scale; a 16-bit bin is 2 / 65535 ~ 3e-5 = exp(-10.4)


def mixture_of_logistics_nll(outputs, audio, bits: int = MOL_BITS):
    """Discretized mixture of logistics (PixelCNN++ sec. 2.1, over 2**bits levels in [-1, 1]): the negative
    log-likelihood of every sample, outputs [..., 3K] (weight logits, means, log scales), audio [...] -> [...].
    The edge bins take the whole tails. A bin's probability sigmoid(b) - sigmoid(a) is computed in log space
    as log sigmoid(b) + log sigmoid(-a) + log(1 - exp(a - b)), exact where the plain difference of two
    float32 sigmoids would cancel (PixelCNN++ substitutes the density there instead)."""
    outputs = tf.cast(outputs, tf.float32)
    weights, means, log_scales = tf.split(outputs, 3, axis=-1)
    log_scales = tf.maximum(log_scales, LOG_SCALE_MIN)
    levels = float(2 ** (bits - 1) - 1)
    x = tf.round(tf.clip_by_value(tf.cast(audio, tf.float32), -1.0, 1.0) * levels)[..., None] / levels
    half_bin = 1.0 / (2.0 * levels)  # bins are 1 / levels wide around each level
    inv_scale = tf.exp(-log_scales)
    plus, minus = inv_scale * (x - means + half_bin), inv_scale * (x - means - half_bin)
    log_cdf_plus = -tf.nn.softplus(-plus)  # log sigmoid(plus): everything below the bin's top (lowest bin)
    log_one_minus_cdf_minus = -tf.nn.softplus(minus)  # log (1 - sigmoid(minus)): everything above (highest)
    log_bin = log_cdf_plus + log_one_minus_cdf_minus + tf.math.log(-tf.math.expm1(-2.0 * half_bin * inv_scale))
    log_prob = tf.where(x < -0.999, log_cdf_plus, tf.where(x > 0.999, log_one_minus_cdf_minus, log_bin))
    return -tf.reduce_logsumexp(log_prob + tf.nn.log_softmax(weights, axis=-1), axis=-1)


def continuous_nll(outputs, audio, distribution: str):
    """Negative log-density of every sample under one Laplace or Gaussian per sample: outputs [..., 2] (mean,
    log scale), audio [...] -> [...]. Laplace: |x - mean| / b + log 2b, the L1 loss scaled by the learned b;
    Gaussian: (x - mean)^2 / 2 sigma^2 + log sigma + log(2 pi) / 2. Densities of 16-bit samples (the bin
    width 2 / 65535 is a constant the comparison of heads must remember: add log(65535 / 2) = 10.4 nats
    to compare with the discrete heads)."""
    outputs = tf.cast(outputs, tf.float32)
    mean, log_scale = outputs[..., 0], tf.maximum(outputs[..., 1], LOG_SCALE_MIN)
    error = (tf.cast(audio, tf.float32) - mean) * tf.exp(-log_scale)
    if distribution == "laplace":
        return tf.abs(error) + log_scale + math.log(2.0)
    if distribution == "gaussian":
        return 0.5 * tf.square(error) + log_scale + 0.5 * math.log(2.0 * math.pi)
    raise ValueError(f"continuous_nll: unknown distribution {distribution!r} (laplace, gaussian)")


def wavenet_loss(outputs, audio, channels: int = 256, output: str = "mulaw"):
    """Per-example mean negative log-likelihood of every sample, [B, S, channels], [B, S] -> [B] (nats):
    cross entropy of the mu-law class, the discretized mixture of logistics' NLL, or the Laplace / Gaussian
    negative log-density."""
    if output == "mol":
        return tf.reduce_mean(mixture_of_logistics_nll(outputs, audio), axis=1)
    if output in ("laplace", "gaussian"):
        return tf.reduce_mean(continuous_nll(outputs, audio, output), axis=1)
    labels = mulaw.encode(audio, channels)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(outputs, tf.float32)),
                          axis=1)

