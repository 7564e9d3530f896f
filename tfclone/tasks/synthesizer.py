"""Tacotron 2 training: bucketed (ids, mel, stop, speaker embedding) batches, the Tacotron loss with a
decaying guided-attention term, alignment and mel pictures, Griffin-Lim audio, alignment-quality scalars."""
from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from absl import logging

from tfclone import plots
from tfclone.audio import features
from tfclone.data import pipeline
from tfclone.eval.alignment import batch_alignment_scores
from tfclone.losses.tacotron import tacotron_loss
from tfclone.models.tacotron2 import build_tacotron2
from tfclone.tasks.base import Task
from tfclone.text.symbols import SymbolTable


EVAL_DROPOUT_SEED = 20240  # the prenet's dropout stays on at evaluation (Tacotron 2 §2.2); fixed masks


class SynthesizerTask(Task):
    name = "synthesizer"
    metric_names = ("loss", "mel_loss", "postnet_mel_loss", "stop_loss", "guided_attention_loss")

    def __init__(self, config, symbols: SymbolTable = None):
        super().__init__(config)
        self.symbols = symbols or SymbolTable()
        self._validation_model, self._validation_fn = None, None  # _validation_step's traced loss, per model

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

    def compute_loss(self, model, loss_layer, batch, training=True, step=None, dropout_seed=None):
        outputs = model(batch, training=training, dropout_seed=dropout_seed)
        m = self.config.model
        parts = tacotron_loss(outputs, batch, m.reduction_factor, m.stop_positive_weight,
                              m.guided_attention_sigma, self.guided_weight(step))
        return tf.reduce_sum(parts["loss"]), {k: tf.reduce_mean(v) for k, v in parts.items()}

    # ------------------------------------------------------------------------------- host-side views
    def summary_dataset(self, config, data_dir: str, split: str):
        return pipeline.synthesizer_dataset(config, data_dir, split, repeat=False)

    def _infer(self, model, batch):
        return model.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"],
                           prenet_dropout=True, dropout_seed=tf.constant(EVAL_DROPOUT_SEED))

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

    def _validation_step(self, model, batch) -> Dict[str, tf.Tensor]:
        """The teacher-forced loss terms under the evaluation's dropout masks, traced once per model with
        free batch and length dimensions (eager, the decode loop took 20x longer)."""
        if self._validation_model is not model:
            spec = {k: tf.TensorSpec([None] * len(v.shape), v.dtype) for k, v in batch.items()}
            seed = tf.constant(EVAL_DROPOUT_SEED)
            self._validation_model = model
            self._validation_fn = tf.function(
                lambda b: self.compute_loss(model, None, b, training=False, dropout_seed=seed)[1],
                input_signature=[spec])
        return self._validation_fn(batch)

    def split_losses(self, model, data_dir: str, split: str = "validation",
                     max_batches: Optional[int] = None) -> Dict[str, float]:
        """Teacher-forced loss terms, utterance-weighted means over a split's first `max_batches` batches
        (default `train.eval_batches`; 0: all), in a fixed order with fixed prenet dropout masks: one evaluation
        compares with the next, where one batch under fresh dropout masks moved by +-0.1 between evaluations.
        Empty if the split has no batch."""
        max_batches = self.config.train.eval_batches if max_batches is None else max_batches
        sums, count = {}, 0
        try:
            batches = self.summary_dataset(self.fixed_order_config(), data_dir, split)
            for batch in batches.take(max_batches) if max_batches else batches:
                n = int(tf.shape(batch["token_length"])[0])
                for k, v in self._validation_step(model, batch).items():
                    sums[k] = sums.get(k, 0.0) + n * float(v)
                count += n
        except pipeline.DataError as e:
            logging.info("no %s batches: %s", split, e)
            return {}
        return {k: v / count for k, v in sums.items()} if count else {}

    def first_batch(self, data_dir: str, split: str):
        """The split's first batch in the fixed order; ValueError naming the split if it has none."""
        try:
            return next(iter(self.summary_dataset(self.fixed_order_config(), data_dir, split)))
        except (pipeline.DataError, StopIteration) as e:
            raise ValueError(f"{data_dir}: no {split} batch to evaluate on ({e or 'the split is empty'})") from None

    def evaluate(self, model, data_dir: str, split: Optional[str] = None,
                 max_batches: Optional[int] = None) -> Dict[str, float]:
        """The teacher-forced loss over the split (split_losses) and free-running alignment quality on its first
        batch, all under fixed dropout masks. Default split: validation (training's evaluation: the first train
        batch's loss and alignment if the validation split has no batch). Keys are `validation_*` whatever the
        split, for one TensorBoard curve."""
        if split is None:
            batch = self.summary_batch(data_dir)
            if batch is None:
                raise ValueError(f"{data_dir}: no validation batch to evaluate on")
        else:
            batch = self.first_batch(data_dir, split)
        losses = self.split_losses(model, data_dir, split or "validation", max_batches)
        if not losses:
            losses = self._validation_step(model, batch)
        free = self._infer(model, batch)
        r = self.config.model.reduction_factor
        scores = batch_alignment_scores(free["alignment"].numpy(), (free["mel_length"].numpy() + r - 1) // r,
                                        batch["token_length"].numpy())
        true_frames = batch["mel_length"].numpy().astype(np.float64)
        stop_error = np.mean(np.abs(free["mel_length"].numpy() - true_frames) / true_frames)
        return {**{f"validation_{k}": float(v) for k, v in losses.items()},
                **{f"alignment_{k}": v for k, v in scores.items()}, "stop_length_error": float(stop_error)}
