"""GE2E speaker-encoder training: N x M batches, GE2E loss, similarity-matrix and projection images, EER."""
from __future__ import annotations

from typing import Dict

import tensorflow as tf

from tfclone import plots
from tfclone.data import pipeline
from tfclone.eval.speaker_verification import batch_eer
from tfclone.losses.ge2e import GE2ELoss
from tfclone.models.speaker_encoder import build_speaker_encoder
from tfclone.tasks.base import Task


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

    def summary_dataset(self, config, data_dir: str, split: str):
        return pipeline.speaker_encoder_dataset(config, data_dir, split)

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
