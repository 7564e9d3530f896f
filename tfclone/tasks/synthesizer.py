"""Tacotron 2 training: bucketed (ids, mel, stop, speaker embedding) batches, the Tacotron loss with a
decaying guided-attention term, alignment and mel pictures, Griffin-Lim audio, alignment-quality scalars."""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import tensorflow as tf

from tfclone import plots
from tfclone.audio import features
from tfclone.data import pipeline
from tfclone.eval.alignment import batch_alignment_scores
from tfclone.losses.tacotron import tacotron_loss
from tfclone.models.tacotron2 import build_tacotron2
from tfclone.tasks.base import Task
from tfclone.text.symbols import SymbolTable


class SynthesizerTask(Task):
    name = "synthesizer"
    metric_names = ("loss", "mel_loss", "postnet_mel_loss", "stop_loss", "guided_attention_loss")

    def __init__(self, config, symbols: SymbolTable = None):
        super().__init__(config)
        self.symbols = symbols or SymbolTable()

    def build_model(self):
        return build_tacotron2(len(self.symbols), self.config.audio, self.config.model)

    def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
        path = os.path.join(data_dir, "symbols.txt")
        if os.path.isfile(path) and SymbolTable.load(path) != self.symbols:
            raise pipeline.DataError(f"{path}: the shards use another symbol table than this synthesizer")
        return pipeline.synthesizer_dataset(self.config, data_dir, split, input_context, seed_offset=seed_offset)

    def guided_weight(self, step):
        model = self.config.model
        weight = tf.constant(model.guided_attention_weight, tf.float32)
        if model.guided_attention_decay_steps and step is not None:
            weight *= tf.pow(0.5, tf.cast(step, tf.float32) / model.guided_attention_decay_steps)
        return weight

    def compute_loss(self, model, loss_layer, batch, training=True, step=None):
        outputs = model(batch, training=training)
        m = self.config.model
        parts = tacotron_loss(outputs, batch, m.reduction_factor, m.stop_positive_weight,
                              m.guided_attention_sigma, self.guided_weight(step))
        return tf.reduce_sum(parts["loss"]), {k: tf.reduce_mean(v) for k, v in parts.items()}

    # ------------------------------------------------------------------------------- host-side views
    def summary_dataset(self, config, data_dir: str, split: str):
        return pipeline.synthesizer_dataset(config, data_dir, split, repeat=False)

    def _infer(self, model, batch):
        return model.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"],
                           prenet_dropout=True)

    def summarize(self, model, loss_layer, batch) -> Dict:
        teacher = model(batch, training=False)
        free = self._infer(model, {k: v[:1] for k, v in batch.items()})
        f, t, r = int(batch["mel_length"][0]), int(batch["token_length"][0]), self.config.model.reduction_factor
        steps = (f + r - 1) // r
        free_frames = int(free["mel_length"][0])
        predicted = free["mel"][0, :free_frames].numpy()
        out = {
            "alignment_teacher_forced": plots.matrix_png(teacher["alignment"][0, :steps, :t].numpy().T,
                                                         "alignment (teacher forced)", "decoder step", "token"),
            "alignment_inference": plots.matrix_png(free["alignment"][0, :max(1, free_frames // r), :t].numpy().T,
                                                    "alignment (free running)", "decoder step", "token"),
            "mel_target": plots.matrix_png(batch["mel"][0, :f].numpy().T, "target mel", "frame", "mel band"),
            "mel_teacher_forced": plots.matrix_png(teacher["mel_after"][0, :f].numpy().T, "predicted mel (teacher forced)",
                                                   "frame", "mel band"),
            "mel_inference": plots.matrix_png(predicted.T if free_frames else np.zeros([1, 1]),
                                              "predicted mel (free running)", "frame", "mel band"),
        }
        if free_frames > 1:
            audio = features.griffin_lim(predicted, self.config.audio, iterations=32).numpy()
            out["griffin_lim_inference"] = (audio, self.config.audio.sample_rate)
        return out

    def evaluate(self, model, data_dir: str) -> Dict[str, float]:
        """Free-running alignment quality and teacher-forced loss on one validation batch."""
        batch = self.summary_batch(data_dir)
        if batch is None:
            raise ValueError(f"{data_dir}: no validation batch to evaluate on")
        _, losses = self.compute_loss(model, None, batch, training=False)
        free = self._infer(model, batch)
        r = self.config.model.reduction_factor
        scores = batch_alignment_scores(free["alignment"].numpy(), (free["mel_length"].numpy() + r - 1) // r,
                                        batch["token_length"].numpy())
        true_frames = batch["mel_length"].numpy().astype(np.float64)
        stop_error = np.mean(np.abs(free["mel_length"].numpy() - true_frames) / true_frames)
        return {**{f"validation_{k}": float(v) for k, v in losses.items()},
                **{f"alignment_{k}": v for k, v in scores.items()}, "stop_length_error": float(stop_error)}
