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

def signature(config):
    """serving_default's inputs for a vocoder config (WaveNet's, HiFi-GAN's, or Griffin-Lim's): mel
    f32[B, F, n_mels], mel_length i32[B], and speaker_embedding f32[B, D] for a speaker-conditioned WaveNet."""
    spec = [tf.TensorSpec([None, None, config.audio.n_mels], tf.float32, name="mel"),
            tf.TensorSpec([None], tf.int32, name="mel_length")]
    if getattr(config.model, "speaker_conditioning", False):
        spec.append(tf.TensorSpec([None, config.model.speaker_embedding_dim], tf.float32, name="speaker_embedding"))
    return spec


def _warmup(config):
    inputs = {"mel": np.full([1, 8, config.audio.n_mels], config.audio.silence, np.float32),
              "mel_length": np.array([8], np.int32)}
    if getattr(config.model, "speaker_conditioning", False):
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
    pad = cfg.silence
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


RESYNTHESIZE_SIGNATURE = [tf.TensorSpec([None, None], tf.float32, name="audio"),
                          tf.TensorSpec([None], tf.int32, name="audio_length")]


class VocoderModule(tf.Module):
    """Base of the vocoder exports: `serve` (mel -> audio) and `resynthesize` (audio at the vocoder's rate ->
    its mel, computed in the graph with the vocoder's own preset -> audio), for copy-synthesis checks."""

    def __init__(self, config, name: str):
        super().__init__(name=name)
        self._config = config
        self.resynthesize = tf.function(self._resynthesize, input_signature=RESYNTHESIZE_SIGNATURE)

    def signatures(self) -> dict:
        return {"serving_default": self.serve, "resynthesize": self.resynthesize}

    def _resynthesize(self, audio, audio_length):
        cfg = self._config.audio
        audio = audio * tf.sequence_mask(audio_length, tf.shape(audio)[1], tf.float32)
        mel = features.mel_spectrogram(audio, cfg)
        mel_length = tf.cast(features.frame_lengths(audio_length, cfg), tf.int32)
        mel = tf.where(tf.sequence_mask(mel_length, tf.shape(mel)[1])[..., None], mel, cfg.silence)
        return self._serve(mel, mel_length)


class WaveNetModule(VocoderModule):
    def __init__(self, model, config: VocoderConfig, folded: bool = True, seed: int = 0):
        super().__init__(config, name="vocoder")
        self.model = model
        self._folded, self._seed = folded, seed
        self.serve = tf.function(self._serve, input_signature=signature(config))

    def signatures(self) -> dict:
        if self._config.model.speaker_conditioning:  # resynthesis would need the speaker too
            return {"serving_default": self.serve}
        return super().signatures()

    def _serve(self, mel, mel_length, speaker_embedding=None):
        return vocode(self.model, self._config, mel, mel_length, self._folded, tf.constant([self._seed, 0]),
                      speaker_embedding)


class GriffinLimModule(VocoderModule):
    def __init__(self, config, iterations: int = 32):
        super().__init__(config, name="griffin_lim")
        self._iterations = iterations
        self.serve = tf.function(self._serve, input_signature=signature(config))

    def _serve(self, mel, mel_length):
        cfg = self._config.audio
        audio = features.griffin_lim(mel, cfg, iterations=self._iterations)  # [B, (F - 1) * hop] (F * hop: reflect)
        frames = mel_length if cfg.padding == "reflect" else tf.maximum(mel_length - 1, 0)
        lengths = frames * cfg.hop_length
        audio = audio * tf.sequence_mask(lengths, tf.shape(audio)[1], tf.float32)
        return {"audio": audio, "audio_length": lengths}


def export_vocoder(config: VocoderConfig, model_dir: str, export_base: str, checkpoint: Optional[str] = None,
                   version: Optional[int] = None, folded: bool = True, seed: int = 0) -> str:
    """Exports the WaveNet, with the moving average of its weights when it was trained with one."""
    model = build_wavenet(config.audio, config.model)
    base.restore_model(model, model_dir, checkpoint, key="ema_model" if config.model.ema_decay > 0 else "model")
    module = WaveNetModule(model, config, folded, seed)
    return base.save(module, module.signatures(), export_base, "vocoder", config, _warmup(config),
                     version=version)


def export_griffin_lim(config, export_base: str, version: Optional[int] = None, iterations: int = 32,
                       name: str = "griffin_lim") -> str:
    """Griffin-Lim needs no training: exported/<name>/<version> with the vocoder's signature, on the audio
    preset of `config` (a vocoder's or HiFi-GAN's)."""
    module = GriffinLimModule(config, iterations)
    return base.save(module, module.signatures(), export_base, name, config, _warmup(config),
                     version=version)


PAD_FRAMES = 32


def pad_frames(config) -> int:
    """The multiple of frames the HiFi-GAN export pads each request's mel to: PAD_FRAMES with XLA, else 1."""
    return PAD_FRAMES if config.model.xla else 1


class HifiganModule(VocoderModule):
    """The HiFi-GAN generator with the vocoder signature; runs XLA-compiled when model.xla is set."""

    def __init__(self, model, config):
        super().__init__(config, name="hifigan")
        self.model = model
        self._generate = tf.function(lambda mel: model(mel), jit_compile=bool(config.model.xla))
        self._pad_frames = pad_frames(config)
        self.serve = tf.function(self._serve, input_signature=signature(config))

    def _serve(self, mel, mel_length):
        hop, silence = self._config.audio.hop_length, self._config.audio.silence
        mel = tf.cast(mel, tf.float32)
        frames = tf.shape(mel)[1]
        # Frames past each item's length are silence, whatever the request's padding held. XLA compiles one
        # program per input shape: with XLA on, silence pads the frames to a multiple of PAD_FRAMES so that
        # one program serves a range of lengths (the padding is cut off below). Without XLA no padding: it
        # would only cost up to PAD_FRAMES - 1 frames of idle vocoding per call.
        mel = tf.where(tf.sequence_mask(mel_length, frames)[..., None], mel, silence)
        if self._pad_frames > 1:
            padded = (frames + self._pad_frames - 1) // self._pad_frames * self._pad_frames
            mel = tf.pad(mel, [[0, 0], [0, padded - frames], [0, 0]], constant_values=silence)
        audio = self._generate(mel)[:, :frames * hop]
        lengths = mel_length * hop
        audio = audio * tf.sequence_mask(lengths, tf.shape(audio)[1], tf.float32)
        return {"audio": audio, "audio_length": lengths}


def export_hifigan(config, model_dir: str, export_base: str, checkpoint: Optional[str] = None,
                   version: Optional[int] = None) -> str:
    """exported/hifigan/<version>: the imported (or trained) HiFi-GAN generator."""
    from tfclone.models.hifigan import build_hifigan

    model = build_hifigan(config.audio, config.model)
    base.restore_model(model, model_dir, checkpoint)
    module = HifiganModule(model, config)
    return base.save(module, module.signatures(), export_base, "hifigan", config, _warmup(config), version=version)
