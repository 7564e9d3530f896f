"""Tacotron 2 building blocks (arXiv 1712.05884): conv blocks, prenet, zoneout LSTM cell, and
location-sensitive attention (Chorowski et al., arXiv 1506.07503 §2.2)."""
from __future__ import annotations

from typing import Optional, Sequence

import keras
import tensorflow as tf

from tfclone.layers.tracking import track_for_checkpoints


class ConvBlock(keras.layers.Layer):
    """Conv1D -> batch norm -> activation -> dropout, on [B, T, C] with a [B, T] mask zeroing padding."""

    def __init__(self, channels: int, kernel_size: int, activation: Optional[str] = "relu", dropout: float = 0.5,
                 **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.activation_name, self.dropout_rate = (
            channels, kernel_size, activation, dropout)
        self.supports_masking = True  # the mask is applied explicitly in call()
        self.conv = keras.layers.Conv1D(channels, kernel_size, padding="same", name="conv")
        self.norm = keras.layers.BatchNormalization(name="norm")
        self.activation = keras.layers.Activation(activation) if activation else None
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, mask=None, training=False):
        if mask is not None:
            x = x * tf.cast(mask, x.dtype)[..., None]
        x = self.norm(self.conv(x), training=training)
        if self.activation is not None:
            x = self.activation(x)
        return self.dropout(x, training=training)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size,
                "activation": self.activation_name, "dropout": self.dropout_rate}


class Prenet(keras.layers.Layer):
    """Dense + ReLU + dropout layers. Dropout stays on at inference (Tacotron 2 §2.2) unless disabled."""

    def __init__(self, units: Sequence[int] = (256, 256), dropout: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.dropout = tuple(units), dropout
        self.dense = [keras.layers.Dense(u, activation="relu", name=f"dense_{i}") for i, u in enumerate(units)]
        track_for_checkpoints(self, self.dense)

    def call(self, x, dropout_seed=None, always_dropout: bool = True, training=False):
        for i, layer in enumerate(self.dense):
            x = layer(x)
            if (training or always_dropout) and self.dropout > 0:
                if dropout_seed is None:
                    x = tf.nn.dropout(x, rate=self.dropout)
                else:  # stateless: a fixed seed gives the same mask in Keras and in a SavedModel
                    x = tf.nn.experimental.stateless_dropout(x, rate=self.dropout, seed=dropout_seed + i)
        return x

    def get_config(self):
        return {**super().get_config(), "units": self.units, "dropout": self.dropout}


def matmul_with_transposed_grad(x, w, w_t):
    """x @ w, whose gradient for x is dy @ w_t with w_t = transpose(w) given (made once, outside a loop).
    The plain gradient, dy @ w with transpose_b, is 3-4x slower on this CPU for an LSTM's shapes ([16, 2048]
    x [2048, 768]: 10-12 ms vs 2-3 ms, oneDNN or Eigen alike), and in Tacotron's teacher-forced loop those
    input gradients were 40% of a training step (profile in README's synthesizer section)."""

    @tf.custom_gradient
    def forward(x, w):
        def grad(dy):
            return tf.matmul(dy, w_t), tf.matmul(x, dy, transpose_a=True)

        return tf.matmul(x, w), grad

    return forward(x, w)


class ZoneoutLSTMCell(keras.layers.Layer):
    """LSTM cell with zoneout (Krueger et al., arXiv 1606.01305): each unit of h and c keeps its previous
    value with probability `zoneout` while training; at inference the expectation is used.
    With `transposed` (from transposed_kernels(), made once per sequence) the cell computes Keras's LSTMCell
    itself with matmul_with_transposed_grad: the same function, a faster backward pass."""

    def __init__(self, units: int, zoneout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.units, self.zoneout = units, zoneout
        self.cell = keras.layers.LSTMCell(units, name="cell")

    @property
    def state_size(self):
        return [self.units, self.units]

    def transposed_kernels(self):
        """(kernel^T, recurrent_kernel^T) in the compute dtype, for call(transposed=...); None before the
        cell is built (its first call then takes Keras's path)."""
        if not self.cell.built:
            return None
        dtype = self.compute_dtype
        return (tf.transpose(tf.cast(self.cell.kernel, dtype)), tf.transpose(tf.cast(self.cell.recurrent_kernel, dtype)))

    def call(self, inputs, states, training=False, transposed=None):
        h_prev, c_prev = states
        if transposed is None:
            _, (h, c) = self.cell(inputs, states, training=training)
        else:  # Keras LSTMCell (implementation 2, sigmoid / tanh, gates i f c o), by hand
            dtype = inputs.dtype
            z = (matmul_with_transposed_grad(inputs, tf.cast(self.cell.kernel, dtype), transposed[0])
                 + matmul_with_transposed_grad(h_prev, tf.cast(self.cell.recurrent_kernel, dtype), transposed[1])
                 + tf.cast(self.cell.bias, dtype))
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(z_f) * c_prev + tf.sigmoid(z_i) * tf.tanh(z_c)
            h = tf.sigmoid(z_o) * tf.tanh(c)
        if self.zoneout > 0:
            if training:
                keep_h = tf.cast(tf.random.uniform(tf.shape(h)) < self.zoneout, h.dtype)
                keep_c = tf.cast(tf.random.uniform(tf.shape(c)) < self.zoneout, c.dtype)
                h = keep_h * h_prev + (1.0 - keep_h) * h
                c = keep_c * c_prev + (1.0 - keep_c) * c
            else:
                h = self.zoneout * h_prev + (1.0 - self.zoneout) * h
                c = self.zoneout * c_prev + (1.0 - self.zoneout) * c
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "zoneout": self.zoneout}


class LocationSensitiveAttention(keras.layers.Layer):
    """e_i,j = v^T tanh(W s_i + V h_j + U f_i,j + b), f_i = F * [alpha_{i-1}; sum_k<i alpha_k] (Tacotron 2 §2.2).

    memory [B, T, E] is projected once (`process_memory`); each step takes the query [B, Q], the previous
    and cumulative weights [B, T], and returns (context [B, E], weights [B, T]).
    """

    def __init__(self, units: int = 128, filters: int = 32, kernel_size: int = 31, **kwargs):
        super().__init__(**kwargs)
        self.units, self.filters, self.kernel_size = units, filters, kernel_size
        self.query_layer = keras.layers.Dense(units, use_bias=False, name="query")
        self.memory_layer = keras.layers.Dense(units, use_bias=False, name="memory")
        self.location_conv = keras.layers.Conv1D(filters, kernel_size, padding="same", use_bias=False,
                                                 name="location_conv")
        self.location_layer = keras.layers.Dense(units, use_bias=False, name="location")
        self.v = keras.layers.Dense(1, use_bias=True, name="v")

    def process_memory(self, memory):
        return self.memory_layer(memory)  # [B, T, units]

    def call(self, query, memory, processed_memory, mask, previous, cumulative, window=None):
        location = self.location_layer(self.location_conv(tf.stack([previous, cumulative], axis=-1)))  # [B,T,U]
        energies = self.v(tf.tanh(self.query_layer(query)[:, None, :] + processed_memory + location))[..., 0]
        valid = mask if window is None else tf.logical_and(mask, window)
        energies = tf.where(valid, energies, tf.cast(-1e9, energies.dtype))
        weights = tf.nn.softmax(energies, axis=-1)  # [B, T]
        context = tf.einsum("bt,bte->be", weights, tf.cast(memory, weights.dtype))
        return context, weights

    def get_config(self):
        return {**super().get_config(), "units": self.units, "filters": self.filters,
                "kernel_size": self.kernel_size}
