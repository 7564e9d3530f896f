"""WaveNet vocoder training: random hop-aligned segments, mu-law cross entropy or mixture-of-logistics NLL,
generated-audio summaries; an EMA of the weights when `model.ema_decay` > 0."""
from __future__ import annotations

from typing import Dict

import numpy as np
import tensorflow as tf

from tfclone import plots
from tfclone.data import pipeline
from tfclone.losses.wavenet import wavenet_loss
from tfclone.models.wavenet import build_wavenet
from tfclone.tasks.base import Task


class VocoderTask(Task):
    name = "vocoder"
    metric_names = ("loss",)

    @property
    def ema_decay(self) -> float:
        return self.config.model.ema_decay

    def build_model(self):
        return build_wavenet(self.config.audio, self.config.model)

    def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
        return pipeline.vocoder_dataset(self.config, data_dir, split, input_context, seed_offset=seed_offset)

    def compute_loss(self, model, loss_layer, batch, training=True, step=None):
        m = self.config.model
        per_example = wavenet_loss(model(batch, training=training), batch["audio"], m.mulaw_channels, m.output)
        return tf.reduce_sum(per_example), {"loss": tf.reduce_mean(per_example)}

    def summary_dataset(self, config, data_dir: str, split: str):
        return pipeline.vocoder_dataset(config, data_dir, split)

    def summarize(self, model, loss_layer, batch) -> Dict:
        speaker = batch["speaker_embedding"][:1] if "speaker_embedding" in batch else None
        if getattr(self, "_generate_for", None) is not model:  # a graph loop: eagerly, minutes per summary
            self._generate_for, self._generate = model, tf.function(model.generate)
        audio, _ = self._generate(batch["mel"][:1], temperature=self.config.model.temperature,
                                  seed=tf.constant([0, 0]), speaker_embedding=speaker)
        generated = audio[0].numpy()
        rate = self.config.audio.sample_rate
        return {"generated_audio": (generated, rate), "target_audio": (batch["audio"][0].numpy(), rate),
                "waveforms": plots.curves_png([(np.arange(len(generated)) / rate, batch["audio"][0].numpy(), "target"),
                                               (np.arange(len(generated)) / rate, generated, "generated")],
                                              "vocoder segment", "seconds", "amplitude")}
