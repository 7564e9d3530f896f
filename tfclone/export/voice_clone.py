"""The end-to-end SavedModel, exported/voice_clone/<version>/: one call from a reference clip and token ids
to the waveform, for a single round trip through TF Serving. It is composed from the three exported
SavedModels (their serving functions and variables, re-saved), so it is the same graph the per-model
endpoints serve:

    serving_default(reference_audio f32[R, S] at the encoder's rate, reference_length i32[R],
                    token_ids i32[B, T], token_length i32[B])
      -> audio f32[B, S'], audio_length i32[B], mel f32[B, F, n_mels], mel_length i32[B], embedding f32[R, D]

R is 1 (one voice for every sentence of the batch) or B (a voice per sentence).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.export import base
from tfclone.export.layout import audio_mismatch, latest_version, read_config
from tfclone.text import text_to_ids
from tfclone.text.symbols import SymbolTable


class VoiceCloneModule(tf.Module):
    def __init__(self, encoder, synthesizer, vocoder, vocoder_takes_speaker: bool):
        super().__init__(name="voice_clone")
        self.encoder, self.synthesizer, self.vocoder = encoder, synthesizer, vocoder
        self._vocoder_takes_speaker = vocoder_takes_speaker
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec([None, None], tf.float32, name="reference_audio"),
            tf.TensorSpec([None], tf.int32, name="reference_length"),
            tf.TensorSpec([None, None], tf.int32, name="token_ids"),
            tf.TensorSpec([None], tf.int32, name="token_length")])

    def _serve(self, reference_audio, reference_length, token_ids, token_length):
        embedding = self.encoder.signatures["serving_default"](
            audio=reference_audio, audio_length=reference_length)["embedding"]
        batch = tf.shape(token_ids)[0]
        tf.debugging.assert_equal(tf.logical_or(tf.shape(embedding)[0] == 1, tf.shape(embedding)[0] == batch), True,
                                  message="reference_audio: give 1 clip or one per row of token_ids")
        speaker = tf.cond(tf.shape(embedding)[0] == 1, lambda: tf.tile(embedding, [batch, 1]), lambda: embedding)
        mel = self.synthesizer.signatures["serving_default"](
            token_ids=token_ids, token_length=token_length, speaker_embedding=speaker)
        vocoder_inputs = dict(mel=mel["mel"], mel_length=mel["mel_length"])
        if self._vocoder_takes_speaker:
            vocoder_inputs["speaker_embedding"] = speaker
        audio = self.vocoder.signatures["serving_default"](**vocoder_inputs)
        return {"audio": audio["audio"], "audio_length": audio["audio_length"], "mel": mel["mel"],
                "mel_length": mel["mel_length"], "embedding": embedding}


def export_voice_clone(export_base: str, vocoder: str = "vocoder", version: Optional[int] = None,
                       sources: Optional[Dict[str, str]] = None) -> str:
    """Composes the latest exported speaker_encoder, synthesizer and `vocoder` (any registered vocoder)
    under export_base (or the SavedModel dirs in `sources`) into <export_base>/voice_clone/<version>."""
    sources = dict(sources or {})
    for name in ("speaker_encoder", "synthesizer", vocoder):
        sources.setdefault(name, latest_version(export_base, name))
    encoder_config = read_config(sources["speaker_encoder"], "speaker_encoder")
    synthesizer_config = read_config(sources["synthesizer"], "synthesizer")
    vocoder_config = read_config(sources[vocoder], vocoder)
    mismatch = audio_mismatch(synthesizer_config.audio, vocoder_config.audio)
    if mismatch:
        raise base.ExportError(f"{sources[vocoder]}: audio preset differs from the synthesizer's ({mismatch})")
    if encoder_config.model.embedding_dim != synthesizer_config.model.speaker_embedding_dim:
        raise base.ExportError(f"{sources['speaker_encoder']}: embeddings of {encoder_config.model.embedding_dim} "
                               f"but the synthesizer takes {synthesizer_config.model.speaker_embedding_dim}")
    symbols_path = os.path.join(sources["synthesizer"], "assets", "symbols.txt")
    symbols = SymbolTable.load(symbols_path)
    loaded = {name: tf.saved_model.load(sources[name]) for name in ("speaker_encoder", "synthesizer", vocoder)}
    takes_speaker = "speaker_embedding" in loaded[vocoder].signatures["serving_default"].structured_input_signature[1]
    module = VoiceCloneModule(loaded["speaker_encoder"], loaded["synthesizer"], loaded[vocoder], takes_speaker)
    ids = text_to_ids("Hello, this is a warm-up request.", symbols)
    rate = encoder_config.audio.sample_rate
    warmup = {"reference_audio": speech_like(2.0, rate, seed=0)[None].astype(np.float32),
              "reference_length": np.array([2 * rate], np.int32),
              "token_ids": np.array([ids], np.int32), "token_length": np.array([len(ids)], np.int32)}
    extra = {"symbols.txt": symbols_path}
    for name in ("speaker_encoder", "synthesizer"):
        extra[f"{name}.yaml"] = os.path.join(sources[name], "assets", "config.yaml")
    extra["vocoder.yaml"] = os.path.join(sources[vocoder], "assets", "config.yaml")
    return base.save(module, {"serving_default": module.serve}, export_base, "voice_clone", synthesizer_config,
                     warmup, extra_assets=extra, version=version)


def griffin_lim_config(synthesizer_config):
    """A vocoder config whose audio preset is the synthesizer's (Griffin-Lim needs nothing else)."""
    from tfclone.config import VocoderConfig

    return dataclasses.replace(VocoderConfig(), audio=synthesizer_config.audio)
