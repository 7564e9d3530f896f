"""GE2E speaker-encoder training: N x M batches, GE2E loss, similarity-matrix and projection images, EER."""
from __future__ import annotations

import dataclasses
from typing import Dict

import tensorflow as tf
from absl import logging

from tfclone.data import pipeline
from tfclone.losses.ge2e import GE2ELoss
from tfclone.models.speaker_encoder import build_speaker_encoder
from tfclone.tasks.base import Task
from tfclone.training import plots


class SpeakerEncoderTask(Task):
    name = "speaker_encoder"
    metric_names = ("loss", "eer_batch", "w", "b")
    input_checkpointable = False  # see pipeline.speaker_encoder_dataset

    def build_model(self):
        return build_speaker_encoder(self.config.audio, self.config.model)

    def _speakers_per_replica(self) -> int:
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return self.config.data.speakers_per_batch // replicas

    def build_loss(self):
        loss = GE2ELoss(self._speakers_per_replica(), self.config.model.loss, self.config.model.init_w,
                        self.config.model.init_b, name="ge2e")
        loss(tf.zeros([self._speakers_per_replica() * self.config.data.utterances_per_speaker,
                       self.config.model.embedding_dim]))
        return loss

    def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
        return pipeline.speaker_encoder_dataset(self.config, data_dir, split, input_context, seed_offset)

    def global_batch_size(self) -> int:
        return self.config.data.speakers_per_batch * self.config.data.utterances_per_speaker

    def compute_loss(self, model, loss_layer, batch, training=True, step=None):
        embeddings = model(batch["mel"], training=training)  # [N * M, D]
        similarity = loss_layer.similarity(embeddings)  # [N, M, N]
        per_utterance = tf.reshape(loss_layer(embeddings), [-1])
        return tf.reduce_sum(per_utterance), {
            "loss": tf.reduce_mean(per_utterance),
            "eer_batch": batch_eer(similarity),
            "w": tf.convert_to_tensor(loss_layer.scale()),
            "b": tf.convert_to_tensor(loss_layer.b),
        }

    def summary_batch(self, data_dir: str):
        """A fixed batch (deterministic, not distributed): validation speakers if there are enough."""
        config = dataclasses.replace(self.config, data=dataclasses.replace(self.config.data, deterministic=True))
        for split in ("validation", "train"):
            try:
                return next(iter(pipeline.speaker_encoder_dataset(config, data_dir, split)))
            except pipeline.DataError as e:  # a small validation split may not fill a batch
                logging.info("no %s summary batch: %s", split, e)
        return None

    def summarize(self, model, loss_layer, batch) -> Dict[str, bytes]:
        embeddings = model(batch["mel"], training=False)
        n = self.config.data.speakers_per_batch
        similarity = loss_layer.similarity(embeddings[: n * self.config.data.utterances_per_speaker])
        m = similarity.shape[1]
        flat = similarity.numpy().reshape(-1, similarity.shape[-1])
        return {
            "similarity_matrix": plots.matrix_png(flat.T, "GE2E similarity (rows: centroids)",
                                                  f"utterance ({m} per speaker)", "speaker centroid"),
            "embedding_projection": plots.projection_png(embeddings.numpy(), batch["speaker_id"].numpy(),
                                                         "speaker embeddings (PCA)"),
        }

    def evaluate(self, model, data_dir: str) -> Dict[str, float]:
        from tfclone.eval.speaker_verification import evaluate_encoder

        return evaluate_encoder(model, self.config, data_dir, max_utterances_per_speaker=20)["metrics"]


def batch_eer(similarity: tf.Tensor) -> tf.Tensor:
    """Equal error rate of the batch's own similarity matrix S [N, M, N] (a cheap training-time signal)."""
    n = tf.shape(similarity)[0]
    scores = tf.reshape(similarity, [-1])
    labels = tf.reshape(tf.broadcast_to(tf.eye(n)[:, None, :], tf.shape(similarity)), [-1])
    order = tf.argsort(scores, direction="DESCENDING")
    labels = tf.gather(labels, order)
    positives = tf.reduce_sum(labels)
    negatives = tf.cast(tf.size(labels), tf.float32) - positives
    false_reject = 1.0 - tf.cumsum(labels) / positives
    false_accept = tf.cumsum(1.0 - labels) / negatives
    index = tf.argmin(tf.abs(false_reject - false_accept))
    return (tf.gather(false_reject, index) + tf.gather(false_accept, index)) / 2.0
