"""Tacotron 2 loss: masked MSE on the mel before and after the postnet, stop-token BCE with a weighted
positive class, and the guided-attention loss (Tachibana et al., arXiv 1710.08969 §4.1), all masked by
lengths. Every term is per example ([B]) so the Trainer can divide the batch sum by the global batch."""
from __future__ import annotations

from typing import Dict

import tensorflow as tf


def masked_mse(prediction, target, mel_length):
    """[B, F, M] x2, [B] -> [B]: mean squared error over each example's valid frames and all bands."""
    mask = tf.sequence_mask(mel_length, tf.shape(target)[1], dtype=tf.float32)[..., None]  # [B, F, 1]
    squared = tf.square(tf.cast(prediction, tf.float32) - tf.cast(target, tf.float32)) * mask
    count = tf.reduce_sum(mask, axis=[1, 2]) * tf.cast(tf.shape(target)[2], tf.float32)
    return tf.reduce_sum(squared, axis=[1, 2]) / tf.maximum(count, 1.0)


def stop_targets(mel_length, steps, r):
    """[B] -> [B, steps]: 1 for the decoder step holding the last frame and every step after it."""
    last_step = (mel_length - 1) // r  # [B]
    return tf.cast(tf.range(steps)[None, :] >= last_step[:, None], tf.float32)


def stop_loss(stop_logits, mel_length, r, positive_weight):
    """Weighted BCE averaged over decoder steps: [B, steps], [B] -> [B]."""
    targets = stop_targets(mel_length, tf.shape(stop_logits)[1], r)
    bce = tf.nn.weighted_cross_entropy_with_logits(targets, stop_logits, pos_weight=positive_weight)
    return tf.reduce_mean(bce, axis=1)


def guided_attention_weights(steps_length, token_length, max_steps, max_tokens, sigma):
    """W[b, n, t] = 1 - exp(-(n / N_b - t / T_b)^2 / (2 sigma^2)), zero outside each example's N_b x T_b."""
    n = tf.cast(tf.range(max_steps), tf.float32)[None, :, None]
    t = tf.cast(tf.range(max_tokens), tf.float32)[None, None, :]
    big_n = tf.cast(steps_length, tf.float32)[:, None, None]
    big_t = tf.cast(token_length, tf.float32)[:, None, None]
    w = 1.0 - tf.exp(-tf.square(n / big_n - t / big_t) / (2.0 * sigma * sigma))
    valid = tf.logical_and(tf.range(max_steps)[None, :, None] < steps_length[:, None, None],
                           tf.range(max_tokens)[None, None, :] < token_length[:, None, None])
    return w * tf.cast(valid, tf.float32), tf.cast(valid, tf.float32)


def guided_attention_loss(alignment, mel_length, token_length, r, sigma):
    """alignment [B, steps, T] -> [B]: mean of A * W over each example's valid region."""
    steps_length = (mel_length + r - 1) // r
    w, valid = guided_attention_weights(steps_length, token_length, tf.shape(alignment)[1], tf.shape(alignment)[2],
                                        sigma)
    return tf.reduce_sum(tf.cast(alignment, tf.float32) * w, axis=[1, 2]) / tf.maximum(
        tf.reduce_sum(valid, axis=[1, 2]), 1.0)


def tacotron_loss(outputs: Dict[str, tf.Tensor], batch: Dict[str, tf.Tensor], r: int, stop_weight: float,
                  sigma: float, guided_weight) -> Dict[str, tf.Tensor]:
    """All loss terms per example ([B]) and their weighted sum under "loss"."""
    mel_length, token_length = batch["mel_length"], batch["token_length"]
    parts = {
        "mel_loss": masked_mse(outputs["mel_before"], batch["mel"], mel_length),
        "postnet_mel_loss": masked_mse(outputs["mel_after"], batch["mel"], mel_length),
        "stop_loss": stop_loss(outputs["stop_logits"], mel_length, r, stop_weight),
        "guided_attention_loss": guided_attention_loss(outputs["alignment"], mel_length, token_length, r, sigma),
    }
    parts["loss"] = (parts["mel_loss"] + parts["postnet_mel_loss"] + parts["stop_loss"]
                     + guided_weight * parts["guided_attention_loss"])
    return parts
