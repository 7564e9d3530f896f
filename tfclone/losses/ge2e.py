"""Generalized end-to-end loss (Wan et al., arXiv 1710.10467).

A batch holds N speakers x M utterances, embeddings laid out as [N * M, D] with each speaker's M
utterances consecutive. The similarity matrix S[j, i, k] = w * cos(e_ji, c_k) + b (eq. 5), where the
centroid of the utterance's own speaker excludes the utterance itself (eq. 8, 9). Losses per utterance:
softmax (eq. 6) and contrast (eq. 7); the total is their sum (eq. 10), here averaged by the caller.
"""
from __future__ import annotations

import keras
import tensorflow as tf


def similarity_matrix(embeddings: tf.Tensor, num_speakers: int, w: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """embeddings [N * M, D] -> S [N, M, N] (GE2E eq. 5 with the exclusive centroids of eq. 8, 9)."""
    d = tf.shape(embeddings)[-1]
    e = tf.reshape(embeddings, [num_speakers, -1, d])  # [N, M, D]
    e = tf.math.l2_normalize(e, axis=-1)
    m = tf.cast(tf.shape(e)[1], e.dtype)
    total = tf.reduce_sum(e, axis=1, keepdims=True)  # [N, 1, D]
    centroids = tf.math.l2_normalize(total[:, 0] / m, axis=-1)  # [N, D], all M utterances
    exclusive = tf.math.l2_normalize((total - e) / (m - 1.0), axis=-1)  # [N, M, D], without e_ji itself
    cos = tf.einsum("jid,kd->jik", e, centroids)  # [N, M, N]
    own = tf.reduce_sum(e * exclusive, axis=-1)  # [N, M]
    is_own = tf.eye(num_speakers, dtype=tf.bool)[:, None, :]  # [N, 1, N]
    cos = tf.where(is_own, own[..., None], cos)
    return w * cos + b


def ge2e_loss(similarity: tf.Tensor, kind: str = "softmax") -> tf.Tensor:
    """S [N, M, N] -> per-utterance loss [N, M] (eq. 6 softmax or eq. 7 contrast)."""
    n = tf.shape(similarity)[0]
    own_mask = tf.eye(n, dtype=similarity.dtype)[:, None, :]  # [N, 1, N]
    own = tf.reduce_sum(similarity * own_mask, axis=-1)  # S_ji,j
    if kind == "softmax":
        return tf.reduce_logsumexp(similarity, axis=-1) - own
    if kind == "contrast":
        sig = tf.sigmoid(similarity)
        others = tf.reduce_max(sig - 2.0 * own_mask, axis=-1)  # max over k != j (own pushed below 0)
        return 1.0 - tf.sigmoid(own) + others
    raise ValueError(f"model.loss: unknown GE2E loss {kind!r} (softmax or contrast)")


class GE2ELoss(keras.layers.Layer):
    """Holds the learnable scale w (kept > 0) and bias b; call(embeddings [N*M, D]) -> loss [N, M]."""

    def __init__(self, num_speakers: int, kind: str = "softmax", init_w: float = 10.0, init_b: float = -5.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.num_speakers, self.kind, self.init_w, self.init_b = num_speakers, kind, init_w, init_b
        self.w = self.add_weight(name="w", shape=(), initializer=keras.initializers.Constant(init_w))
        self.b = self.add_weight(name="b", shape=(), initializer=keras.initializers.Constant(init_b))

    def scale(self) -> tf.Tensor:
        return tf.maximum(tf.convert_to_tensor(self.w), 1e-6)  # GE2E §2.1: w > 0

    def similarity(self, embeddings: tf.Tensor) -> tf.Tensor:
        return similarity_matrix(tf.cast(embeddings, tf.float32), self.num_speakers, self.scale(),
                                 tf.convert_to_tensor(self.b))

    def call(self, embeddings: tf.Tensor) -> tf.Tensor:
        return ge2e_loss(self.similarity(embeddings), self.kind)

    def get_config(self):
        return {**super().get_config(), "num_speakers": self.num_speakers, "kind": self.kind,
                "init_w": self.init_w, "init_b": self.init_b}
