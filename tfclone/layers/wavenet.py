"""The WaveNet residual block (arXiv 1609.03499 §2.3-2.5), with the per-sample step that fast generation
uses: both paths share the gate and the residual arithmetic defined here."""
from __future__ import annotations

import math

import keras
import tensorflow as tf


class ResidualBlock(keras.layers.Layer):
    """Gated dilated causal conv with local conditioning, then the skip and residual 1x1 convs (§2.3-2.5)."""

    def __init__(self, residual_channels, gate_channels, skip_channels, kernel_size, dilation, speaker=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.residual_channels, self.gate_channels, self.skip_channels = residual_channels, gate_channels, skip_channels
        self.kernel_size, self.dilation = kernel_size, dilation
        self.conv = keras.layers.Conv1D(2 * gate_channels, kernel_size, dilation_rate=dilation, padding="causal",
                                        name="dilated_conv")
        self.condition = keras.layers.Dense(2 * gate_channels, use_bias=False, name="condition")
        self.out = keras.layers.Dense(skip_channels + residual_channels, name="skip_residual")
        self.speaker = keras.layers.Dense(2 * gate_channels, use_bias=False, name="speaker") if speaker else None

    def gate(self, z):
        """The gated activation unit: [..., 2G] -> tanh(first half) * sigmoid(second half) [..., G]."""
        return tf.tanh(z[..., :self.gate_channels]) * tf.sigmoid(z[..., self.gate_channels:])

    @staticmethod
    def merge(x, residual):
        """The residual connection, scaled to keep the variance of the sum."""
        return (x + residual) * math.sqrt(0.5)

    def call(self, x, condition, speaker=None):
        """x [B, S, R], condition [B, S, C], speaker [B, E] or None -> (residual output [B, S, R], skip [B, S, K])."""
        z = self.conv(x) + self.condition(condition)
        if self.speaker is not None:
            z = z + self.speaker(speaker)[:, None, :]
        skip, residual = tf.split(self.out(self.gate(z)), [self.skip_channels, self.residual_channels], axis=-1)
        return self.merge(x, residual), skip

    # --------------------------------------------------------------- one sample at a time (generation)
    def step_weights(self):
        """The weights in the form one generation step takes, read once before the sample loop: (the dilated
        conv as one matmul [k R, 2G] with the oldest tap's rows first, its bias, the residual 1x1 kernel
        [G, R], its bias)."""
        return (tf.reshape(self.conv.kernel, [-1, 2 * self.gate_channels]), self.conv.bias,
                self.out.kernel[:, self.skip_channels:], self.out.bias[self.skip_channels:])

    def skip_weights(self):
        """(kernel [G, K], bias [K]) of the skip 1x1 conv (generation stacks all layers' into one matmul)."""
        return self.out.kernel[:, :self.skip_channels], self.out.bias[:self.skip_channels]

    def step(self, taps, weights, condition_term, x=None):
        """One sample of the block: the layer's inputs at t - (k-1) d, ..., t - d, t concatenated ([B, k R]),
        its `step_weights()`, and the projected conditioning [B, 2G] -> (gated [B, G], the residual output
        [B, R] when x, the input at t, is given; the skip 1x1 conv is left to the caller)."""
        kernel, bias, residual_kernel, residual_bias = weights
        gated = self.gate(tf.matmul(taps, kernel) + bias + condition_term)
        if x is None:
            return gated, None
        return gated, self.merge(x, tf.matmul(gated, residual_kernel) + residual_bias)

    def get_config(self):
        return {**super().get_config(), "residual_channels": self.residual_channels,
                "gate_channels": self.gate_channels, "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size, "dilation": self.dilation, "speaker": self.speaker is not None}


