"""The speaker encoder's SavedModel: serving_default(audio f32[B, S] at 16 kHz, audio_length i32[B]) ->
embedding f32[B, D]. Features and the sliding-window utterance embedding run in the graph."""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.config import SpeakerEncoderConfig
from tfclone.export import base
from tfclone.models.speaker_encoder import build_speaker_encoder, embed_utterances


class SpeakerEncoderModule(tf.Module):
    def __init__(self, encoder, config: SpeakerEncoderConfig):
        super().__init__(name="speaker_encoder")
        self.encoder = encoder
        self._config = config

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="audio"),
                                  tf.TensorSpec([None], tf.int32, name="audio_length")])
    def serve(self, audio, audio_length):
        embedding = embed_utterances(self.encoder, audio, audio_length, self._config.audio, self._config.model)
        return {"embedding": tf.identity(embedding, name="embedding")}


def export_speaker_encoder(config: SpeakerEncoderConfig, model_dir: str, export_base: str,
                           checkpoint: Optional[str] = None, version: Optional[int] = None) -> str:
    encoder = build_speaker_encoder(config.audio, config.model)
    base.restore_model(encoder, model_dir, checkpoint)
    module = SpeakerEncoderModule(encoder, config)
    rate = config.audio.sample_rate
    warmup = np.stack([speech_like(2.0, rate, seed=0), speech_like(2.0, rate, seed=1)])
    return base.save(module, {"serving_default": module.serve}, export_base, "speaker_encoder", config,
                     {"audio": warmup.astype(np.float32), "audio_length": np.array([2 * rate, rate], np.int32)},
                     version=version)
