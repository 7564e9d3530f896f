"""The synthesizer's SavedModel: serving_default(token_ids i32[B, T], token_length i32[B],
speaker_embedding f32[B, D]) -> mel f32[B, F, 80], mel_length i32[B], alignment f32[B, F', T].
The free-running decode loop runs in the graph; the vocabulary and config ship as assets.

serving_default decodes batches of 1-2 with an XLA-compiled loop (faster once compiled: a server's case);
`plain`, with the same inputs and outputs, always decodes in the plain graph: nothing to compile or load
per token-width range, which a one-shot process (tfclone-clone) would pay on its first call of each."""
from __future__ import annotations

import os
import tempfile
from typing import Optional

import numpy as np
import tensorflow as tf

from tfclone.config import SynthesizerConfig
from tfclone.export import base
from tfclone.models.tacotron2 import build_tacotron2
from tfclone.text import text_to_ids
from tfclone.text.symbols import SymbolTable


PAD_TOKENS = 16
XLA_MAX_BATCH = 2  # larger batches decode in the plain graph


class SynthesizerModule(tf.Module):
    def __init__(self, model, config: SynthesizerConfig, prenet_dropout: bool = True):
        super().__init__(name="synthesizer")
        self.model = model
        self._prenet_dropout = prenet_dropout
        dim = config.model.speaker_embedding_dim
        self.serve = tf.function(self._serve, input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="token_ids"),
            tf.TensorSpec([None], tf.int32, name="token_length"),
            tf.TensorSpec([None, dim], tf.float32, name="speaker_embedding")])

        self.serve_plain = tf.function(self._serve_plain, input_signature=self.serve.input_signature)
        self._xla = bool(config.model.xla)
        self._decode_fixed = tf.function(
            lambda ids, n, e: model.decode_fixed(ids, n, e, prenet_dropout=prenet_dropout), jit_compile=True)

    def _compiled(self, token_ids, token_length, speaker_embedding):
        # XLA compiles one program per input shape: the token width is padded to a multiple of PAD_TOKENS
        # (the mask ignores the padding) so that one program serves a range of widths.
        width = tf.shape(token_ids)[1]
        padded = (width + PAD_TOKENS - 1) // PAD_TOKENS * PAD_TOKENS
        token_ids = tf.pad(token_ids, [[0, 0], [0, padded - width]])
        frames, lengths, alignment, steps = self._decode_fixed(token_ids, token_length, speaker_embedding)
        return self.model.finish(frames[:, :steps * self.model.r], lengths, alignment[:, :steps, :width])

    def _plain(self, token_ids, token_length, speaker_embedding):
        return self.model.infer(token_ids, token_length, speaker_embedding, prenet_dropout=self._prenet_dropout)

    def _serve(self, token_ids, token_length, speaker_embedding):
        args = (token_ids, token_length, speaker_embedding)
        if self._xla:
            # XLA pays at small batches only (benchmarks/synthesizer_speed.py, demo config: batch 1 2.2x
            # faster, 2 1.2x, 4 and 8 slower than the plain graph's oneDNN kernels).
            out = tf.cond(tf.shape(token_ids)[0] <= XLA_MAX_BATCH, lambda: self._compiled(*args),
                          lambda: self._plain(*args))
        else:
            out = self._plain(*args)
        return self._outputs(out)

    def _serve_plain(self, token_ids, token_length, speaker_embedding):
        return self._outputs(self._plain(token_ids, token_length, speaker_embedding))

    @staticmethod
    def _outputs(out):
        return {"mel": tf.identity(out["mel"], name="mel"), "mel_length": tf.identity(out["mel_length"], name="mel_length"),
                "alignment": tf.identity(out["alignment"], name="alignment")}


def export_synthesizer(config: SynthesizerConfig, model_dir: str, export_base: str,
                       checkpoint: Optional[str] = None, version: Optional[int] = None,
                       prenet_dropout: bool = True, symbols: Optional[SymbolTable] = None) -> str:
    """prenet_dropout=False gives deterministic output (Tacotron 2 keeps it on for better prosody)."""
    symbols = symbols or SymbolTable()
    model = build_tacotron2(len(symbols), config.audio, config.model)
    base.restore_model(model, model_dir, checkpoint)
    module = SynthesizerModule(model, config, prenet_dropout)
    ids = [text_to_ids("Hello, this is a warm-up request.", symbols), text_to_ids("Thank you.", symbols)]
    token_ids = np.zeros([2, max(map(len, ids))], np.int32)
    for i, row in enumerate(ids):
        token_ids[i, :len(row)] = row
    embedding = np.ones([2, config.model.speaker_embedding_dim], np.float32) / np.sqrt(config.model.speaker_embedding_dim)
    with tempfile.TemporaryDirectory() as tmp:
        symbols_path = os.path.join(tmp, "symbols.txt")
        symbols.save(symbols_path)
        return base.save(module, {"serving_default": module.serve, "plain": module.serve_plain}, export_base,
                         "synthesizer", config,
                         {"token_ids": token_ids, "token_length": np.array([len(r) for r in ids], np.int32),
                          "speaker_embedding": embedding},
                         extra_assets={"symbols.txt": symbols_path}, version=version)
