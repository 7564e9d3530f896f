"""The vocoder's SavedModels, one signature for both: serving_default(mel f32[B, F, 80], mel_length i32[B])
-> audio f32[B, S], audio_length i32[B]. WaveNet's generation loop runs in the graph (folded per utterance
for speed, or plain batched); Griffin-Lim is exported with the same signature as a fast fallback.
A WaveNet trained with speaker conditioning takes `speaker_embedding` f32[B, E] as a third input."""
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


def signature(config: VocoderConfig):
    spec = list(_SIGNATURE)
    if config.model.speaker_conditioning:
        spec.append(tf.TensorSpec([None, config.model.speaker_embedding_dim], tf.float32, name="speaker_embedding"))
    return spec


def _warmup(config: VocoderConfig):
    inputs = {"mel": np.full([1, 8, config.audio.n_mels], np.log(config.audio.log_floor), np.float32),
              "mel_length": np.array([8], np.int32)}
    if config.model.speaker_conditioning:
        inputs["speaker_embedding"] = np.zeros([1, config.model.speaker_embedding_dim], np.float32)
    return inputs


def vocode(model, config: VocoderConfig, mel, mel_length, folded: bool, seed, speaker_embedding=None):
    """The graph the SavedModel serves (also the Keras-side reference in tests): folded generation per
    utterance (each utterance's segments form one batch), or all utterances as one plain batch."""
    m, cfg = config.model, config.audio
    if not folded:
        audio, lengths = model.generate(mel, mel_length, temperature=m.temperature, seed=seed,
                                        speaker_embedding=speaker_embedding, xla=m.xla, loops=m.generation_loops)
        return {"audio": audio, "audio_length": lengths}
    pad = float(np.log(cfg.log_floor))
    hop = cfg.hop_length
    longest = tf.shape(mel)[1] * hop
    speakers = tf.zeros([tf.shape(mel)[0], 0]) if speaker_embedding is None else speaker_embedding

    def one(args):
        item_mel, length, speaker = args
        audio = model.generate_folded(item_mel, length, m.fold_segment_frames, m.fold_overlap_frames, pad,
                                      temperature=m.temperature, seed=seed,
                                      speaker_embedding=None if speaker_embedding is None else speaker,
                                      loops=m.generation_loops, xla=m.xla)
        return tf.pad(audio, [[0, longest - tf.shape(audio)[0]]])

    audio = tf.map_fn(one, (tf.cast(mel, tf.float32), mel_length, speakers),
                      fn_output_signature=tf.TensorSpec([None], tf.float32))
    return {"audio": audio, "audio_length": mel_length * hop}


class WaveNetModule(tf.Module):
    def __init__(self, model, config: VocoderConfig, folded: bool = True, seed: int = 0):
        super().__init__(name="vocoder")
        self.model = model
        self._config, self._folded, self._seed = config, folded, seed
        self.serve = tf.function(self._serve, input_signature=signature(config))

    def _serve(self, mel, mel_length, speaker_embedding=None):
        return vocode(self.model, self._config, mel, mel_length, self._folded, tf.constant([self._seed, 0]),
                      speaker_embedding)


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
                   version: Optional[int] = None, folded: bool = True, seed: int = 0) -> str:
    """Exports the WaveNet, with the moving average of its weights when it was trained with one."""
    model = build_wavenet(config.audio, config.model)
    base.restore_model(model, model_dir, checkpoint, key="ema_model" if config.model.ema_decay > 0 else "model")
    module = WaveNetModule(model, config, folded, seed)
    return base.save(module, {"serving_default": module.serve}, export_base, "vocoder", config, _warmup(config),
                     version=version)


def export_griffin_lim(config: VocoderConfig, export_base: str, version: Optional[int] = None,
                       iterations: int = 32) -> str:
    """Griffin-Lim needs no training: exported/griffin_lim/<version> with the vocoder's signature."""
    module = GriffinLimModule(config, iterations)
    return base.save(module, {"serving_default": module.serve}, export_base, "griffin_lim", config, _warmup(config),
                     version=version)
