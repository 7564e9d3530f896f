"""The vocoder's SavedModels, one signature for both: serving_default(mel f32[B, F, 80], mel_length i32[B])
-> audio f32[B, S], audio_length i32[B]. WaveNet's generation loop runs in the graph (folded per utterance
for speed, or plain batched); Griffin-Lim is exported with the same signature as a fast fallback."""
from __future__ import annotations

from typing import Optional

import numpy as np
import tensorflow as tf

from tfclone.audio import features
from tfclone.config import VocoderConfig
from tfclone.export import base
from tfclone.models.wavenet import build_wavenet

_SIGNATURE = [tf.TensorSpec([None, None, None], tf.float32, name="mel"),
              tf.TensorSpec([None], tf.int32, name="mel_length")]


def _warmup(config: VocoderConfig):
    return {"mel": np.full([1, 8, config.audio.n_mels], np.log(config.audio.log_floor), np.float32),
            "mel_length": np.array([8], np.int32)}


class WaveNetModule(tf.Module):
    def __init__(self, model, config: VocoderConfig, folded: bool = True, seed: int = 0):
        super().__init__(name="vocoder")
        self.model = model
        self._config, self._folded, self._seed = config, folded, seed
        self.serve = tf.function(self._serve, input_signature=_SIGNATURE)

    def _serve(self, mel, mel_length):
        seed = tf.constant([self._seed, 0])
        if not self._folded:
            audio, lengths = self.model.generate(mel, mel_length, seed=seed)
            return {"audio": audio, "audio_length": lengths}
        m, cfg = self._config.model, self._config.audio
        pad = float(np.log(cfg.log_floor))
        hop = cfg.hop_length
        longest = tf.reduce_max(mel_length) * hop

        def one(args):
            item_mel, length = args
            audio = self.model.generate_folded(item_mel, length, m.fold_segment_frames, m.fold_overlap_frames, pad,
                                               seed=seed)
            return tf.pad(audio, [[0, longest - tf.shape(audio)[0]]])

        audio = tf.map_fn(one, (mel, mel_length), fn_output_signature=tf.TensorSpec([None], tf.float32))
        return {"audio": audio, "audio_length": mel_length * hop}


class GriffinLimModule(tf.Module):
    def __init__(self, config: VocoderConfig, iterations: int = 32):
        super().__init__(name="griffin_lim")
        self._config, self._iterations = config, iterations
        self.serve = tf.function(self._serve, input_signature=_SIGNATURE)

    def _serve(self, mel, mel_length):
        audio = features.griffin_lim(mel, self._config.audio, iterations=self._iterations)  # [B, (F - 1) * hop]
        lengths = tf.maximum(mel_length - 1, 0) * self._config.audio.hop_length
        audio = audio * tf.sequence_mask(lengths, tf.shape(audio)[1], tf.float32)
        return {"audio": audio, "audio_length": lengths}


def export_vocoder(config: VocoderConfig, model_dir: str, export_base: str, checkpoint: Optional[str] = None,
                   version: Optional[int] = None, folded: bool = True) -> str:
    model = build_wavenet(config.audio, config.model)
    base.restore_model(model, model_dir, checkpoint)
    module = WaveNetModule(model, config, folded)
    return base.save(module, {"serving_default": module.serve}, export_base, "vocoder", config, _warmup(config),
                     version=version)


def export_griffin_lim(config: VocoderConfig, export_base: str, version: Optional[int] = None,
                       iterations: int = 32) -> str:
    """Griffin-Lim needs no training: exported/griffin_lim/<version> with the vocoder's signature."""
    module = GriffinLimModule(config, iterations)
    return base.save(module, {"serving_default": module.serve}, export_base, "griffin_lim", config, _warmup(config),
                     version=version)
