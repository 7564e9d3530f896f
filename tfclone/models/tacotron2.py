"""Tacotron 2 (arXiv 1712.05884) conditioned on a speaker embedding (SV2TTS, arXiv 1806.04558 §2.2).

Encoder: symbol embedding -> conv blocks -> BiLSTM; the speaker embedding is concatenated to every encoder
output. Decoder: prenet -> attention LSTM (zoneout) -> location-sensitive attention -> decoder LSTM
(zoneout) -> r mel frames + a stop logit per step; postnet (conv stack) adds a residual.

One decode loop (`_decode`, a tf.while_loop) serves teacher-forced training (`call`) and free-running
inference (`infer`); the only difference is where each step's previous frame comes from.
"""
from __future__ import annotations

import inspect
from typing import Dict, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from tfclone.config.audio import AudioConfig
from tfclone.config.experiments import SynthesizerModelConfig
from tfclone.layers.tacotron import ConvBlock, LocationSensitiveAttention, Prenet, ZoneoutLSTMCell
from tfclone.layers.tracking import track_for_checkpoints

class Tacotron2(keras.Model):
    """Arguments mirror SynthesizerModelConfig's fields (same names, same defaults: the paper's sizes)."""

    def __init__(self, num_symbols: int, n_mels: int = 80, pad_value: float = -11.5129, *,
                 symbol_embedding_dim: int = 512, encoder_conv_layers: int = 3, encoder_conv_channels: int = 512,
                 encoder_conv_kernel: int = 5, encoder_lstm_units: int = 256, speaker_embedding_dim: int = 256,
                 attention_dim: int = 128, attention_filters: int = 32, attention_kernel: int = 31,
                 prenet_units: Sequence[int] = (256, 256), prenet_dropout: float = 0.5,
                 decoder_lstm_units: int = 1024, zoneout: float = 0.1, dropout: float = 0.5,
                 reduction_factor: int = 2, postnet_layers: int = 5, postnet_channels: int = 512,
                 postnet_kernel: int = 5, stop_threshold: float = 0.5, max_decoder_steps_per_token: float = 10.0,
                 min_decoder_frames: int = 0, attention_window_back: int = 0, attention_window_ahead: int = 0,
                 name: str = "tacotron2", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_symbols, self.n_mels, self.pad_value = num_symbols, n_mels, pad_value
        self.symbol_embedding_dim, self.encoder_conv_layers = symbol_embedding_dim, encoder_conv_layers
        self.encoder_conv_channels, self.encoder_conv_kernel = encoder_conv_channels, encoder_conv_kernel
        self.encoder_lstm_units, self.speaker_embedding_dim = encoder_lstm_units, speaker_embedding_dim
        self.attention_dim, self.attention_filters, self.attention_kernel = attention_dim, attention_filters, \
            attention_kernel
        self.prenet_units, self.prenet_dropout = tuple(prenet_units), prenet_dropout
        self.decoder_lstm_units, self.zoneout, self.dropout = decoder_lstm_units, zoneout, dropout
        self.r = self.reduction_factor = reduction_factor
        self.postnet_layers, self.postnet_channels, self.postnet_kernel = postnet_layers, postnet_channels, \
            postnet_kernel
        self.stop_threshold, self.max_decoder_steps_per_token = stop_threshold, max_decoder_steps_per_token
        self.min_decoder_frames = min_decoder_frames
        self.attention_window_back, self.attention_window_ahead = attention_window_back, attention_window_ahead

        self.embedding = keras.layers.Embedding(num_symbols, symbol_embedding_dim, name="symbol_embedding")
        self.encoder_convs = [ConvBlock(encoder_conv_channels, encoder_conv_kernel, "relu", dropout,
                                        name=f"encoder_conv_{i}") for i in range(encoder_conv_layers)]
        self.encoder_lstm = keras.layers.Bidirectional(
            keras.layers.LSTM(encoder_lstm_units, return_sequences=True, name="lstm"), name="encoder_lstm")
        self.prenet = Prenet(self.prenet_units, prenet_dropout, name="prenet")
        self.attention_cell = ZoneoutLSTMCell(decoder_lstm_units, zoneout, name="attention_lstm")
        self.attention = LocationSensitiveAttention(attention_dim, attention_filters, attention_kernel,
                                                    name="attention")
        self.decoder_cell = ZoneoutLSTMCell(decoder_lstm_units, zoneout, name="decoder_lstm")
        self.frame_projection = keras.layers.Dense(n_mels * reduction_factor, name="frame_projection")
        self.stop_projection = keras.layers.Dense(1, name="stop_projection")
        last = postnet_layers - 1
        self.postnet = [ConvBlock(postnet_channels if i < last else n_mels, postnet_kernel,
                                  "tanh" if i < last else None, dropout, name=f"postnet_{i}")
                        for i in range(postnet_layers)]
        track_for_checkpoints(self, self.encoder_convs + self.postnet)

    # ---------------------------------------------------------------------------------------- encoder
    def encode(self, token_ids, token_length, speaker_embedding, training=False):
        """ids [B, T], lengths [B], embedding [B, D] -> memory [B, T, 2 * units + D], mask [B, T]."""
        mask = tf.sequence_mask(token_length, tf.shape(token_ids)[1])
        x = self.embedding(token_ids)  # [B, T, emb]
        for conv in self.encoder_convs:
            x = conv(x, mask=mask, training=training)
        x = self.encoder_lstm(x, mask=mask, training=training)  # [B, T, 2 * units]
        speaker = tf.ensure_shape(tf.cast(speaker_embedding, x.dtype), [None, self.speaker_embedding_dim])
        speaker = tf.tile(speaker[:, None, :], [1, tf.shape(x)[1], 1])
        memory = tf.concat([x, speaker], axis=-1) * tf.cast(mask, x.dtype)[..., None]
        return memory, mask

    # ---------------------------------------------------------------------------------------- decoder
    def _initial_state(self, batch, max_tokens, memory):
        units = self.decoder_lstm_units
        zeros = lambda n: tf.zeros([batch, n], memory.dtype)  # noqa: E731
        return {"att_h": zeros(units), "att_c": zeros(units), "dec_h": zeros(units), "dec_c": zeros(units),
                "context": zeros(2 * self.encoder_lstm_units + self.speaker_embedding_dim),
                "weights": tf.zeros([batch, max_tokens], tf.float32),
                "cumulative": tf.zeros([batch, max_tokens], tf.float32)}

    def _window(self, state, max_tokens):
        back, ahead = self.attention_window_back, self.attention_window_ahead
        if not (back or ahead):
            return None
        focus = tf.argmax(state["weights"], axis=-1, output_type=tf.int32)[:, None]  # [B, 1]
        position = tf.range(max_tokens)[None, :]
        return tf.logical_and(position >= focus - back, position <= focus + ahead)

    def decoder_step(self, previous_frame, state, memory, processed_memory, mask, training=False,
                     dropout_seed=None, always_dropout=True, windowed=False, transposed=(None, None)):
        """One step: previous frame [B, n_mels] -> (frames [B, r * n_mels], stop logit [B], new state).
        `transposed`: the two LSTM cells' transposed_kernels() (training: a faster backward pass)."""
        x = self.prenet(previous_frame, dropout_seed=dropout_seed, always_dropout=always_dropout, training=training)
        att_h, (att_h, att_c) = self.attention_cell(tf.concat([x, state["context"]], -1),
                                                    [state["att_h"], state["att_c"]], training=training,
                                                    transposed=transposed[0])
        window = self._window(state, tf.shape(mask)[1]) if windowed else None
        context, weights = self.attention(att_h, memory, processed_memory, mask, state["weights"],
                                          state["cumulative"], window)
        context = tf.cast(context, att_h.dtype)
        dec_h, (dec_h, dec_c) = self.decoder_cell(tf.concat([att_h, context], -1), [state["dec_h"], state["dec_c"]],
                                                  training=training, transposed=transposed[1])
        out = tf.concat([dec_h, context], -1)
        frames = tf.cast(self.frame_projection(out), tf.float32)
        stop = tf.cast(self.stop_projection(out)[:, 0], tf.float32)
        new_state = {"att_h": att_h, "att_c": att_c, "dec_h": dec_h, "dec_c": dec_c, "context": context,
                     "weights": tf.cast(weights, tf.float32),
                     "cumulative": state["cumulative"] + tf.cast(weights, tf.float32)}
        return frames, stop, new_state

    def _decode(self, memory, mask, max_steps, teacher_frames=None, training=False, dropout_seed=None,
                always_dropout=True, buffer_steps=None):
        """The decode loop. teacher_frames [B, steps, n_mels] (teacher forcing) or None (free running:
        stop when every item's stop probability passed the threshold, or at max_steps).
        Returns frames [B, steps * r, n_mels], stop logits [B, steps], alignment [B, steps, T], lengths [B]
        (decoder steps up to and including each item's first stop).
        `buffer_steps` (>= max_steps; a compile-time constant under XLA): write into fixed-size buffers of that
        many steps and return them whole, steps past the loop's end zero, plus the number of steps run as a
        fifth value.
        XLA needs this: it compiles growable TensorArrays into empty outputs, silently."""
        batch, max_tokens = tf.shape(memory)[0], tf.shape(memory)[1]
        processed = self.attention.process_memory(memory)
        free_running = teacher_frames is None
        state = self._initial_state(batch, max_tokens, memory)
        # Training: each LSTM's kernels transposed once here, not in every step's backward pass.
        transposed = ((self.attention_cell.transposed_kernels(), self.decoder_cell.transposed_kernels())
                      if training else (None, None))
        if buffer_steps is None:
            frames_ta, stops_ta, align_ta = (tf.TensorArray(tf.float32, size=0, dynamic_size=True) for _ in range(3))
        else:
            frames_ta, stops_ta, align_ta = (tf.TensorArray(tf.float32, size=buffer_steps, element_shape=shape)
                                             for shape in ([None, self.r * self.n_mels], [None], [None, None]))
        previous = tf.zeros([batch, self.n_mels], memory.dtype)  # the <GO> frame
        finished = tf.zeros([batch], tf.bool)
        lengths = tf.fill([batch], max_steps)

        def condition(i, previous, state, finished, lengths, frames_ta, stops_ta, align_ta):
            go_on = i < max_steps
            if free_running:
                go_on = tf.logical_and(go_on, tf.logical_not(tf.reduce_all(finished)))
            return go_on

        def body(i, previous, state, finished, lengths, frames_ta, stops_ta, align_ta):
            seed = None if dropout_seed is None else tf.stack([dropout_seed, tf.cast(i, tf.int32) * 7919])
            frames, stop, state = self.decoder_step(previous, state, memory, processed, mask, training, seed,
                                                    always_dropout, windowed=free_running, transposed=transposed)
            stopped_now = tf.logical_and(tf.logical_not(finished), tf.sigmoid(stop) > self.stop_threshold)
            lengths = tf.where(stopped_now, i + 1, lengths)
            finished = tf.logical_or(finished, stopped_now)
            if free_running:
                previous = tf.cast(frames[:, -self.n_mels:], memory.dtype)
            else:
                previous = tf.cast(teacher_frames[:, tf.minimum(i + 1, tf.shape(teacher_frames)[1] - 1)], memory.dtype)
            return (i + 1, previous, state, finished, lengths, frames_ta.write(i, frames),
                    stops_ta.write(i, stop), align_ta.write(i, state["weights"]))

        if not free_running:
            previous = tf.cast(teacher_frames[:, 0], memory.dtype)
        loop = tf.while_loop(condition, body, (tf.constant(0), previous, state, finished, lengths,
                                               frames_ta, stops_ta, align_ta),
                             maximum_iterations=max_steps if buffer_steps is None else buffer_steps)
        ran, _, _, _, lengths, frames_ta, stops_ta, align_ta = loop
        frames = tf.transpose(frames_ta.stack(), [1, 0, 2])  # [B, steps, r * n_mels]
        steps = tf.shape(frames)[1]
        frames = tf.reshape(frames, [batch, steps * self.r, self.n_mels])
        stops = tf.transpose(stops_ta.stack(), [1, 0])  # [B, steps]
        alignment = tf.transpose(align_ta.stack(), [1, 0, 2])  # [B, steps, T]
        if buffer_steps is not None:
            return frames, stops, alignment, tf.minimum(lengths, ran), ran
        return frames, stops, alignment, tf.minimum(lengths, steps)

    def apply_postnet(self, mel, training=False):
        if not self.postnet:
            return mel
        x = mel
        for conv in self.postnet:
            x = conv(x, training=training)
        return mel + tf.cast(x, mel.dtype)

    # ------------------------------------------------------------------------------------------- API
    def call(self, inputs: Dict[str, tf.Tensor], training=False, dropout_seed: Optional[tf.Tensor] = None):
        """Teacher forcing. inputs: token_ids [B, T], token_length [B], speaker_embedding [B, D], mel [B, F, n_mels].
        Returns mel_before/mel_after [B, F, n_mels], stop_logits [B, ceil(F / r)], alignment [B, ceil(F / r), T].
        A dropout_seed (int32 scalar) makes the prenet's dropout masks reproducible (a comparable validation loss)."""
        memory, mask = self.encode(inputs["token_ids"], inputs["token_length"], inputs["speaker_embedding"], training)
        mel = tf.cast(inputs["mel"], tf.float32)
        frames = tf.shape(mel)[1]
        steps = (frames + self.r - 1) // self.r
        padded = tf.pad(mel, [[0, 0], [0, steps * self.r - frames], [0, 0]], constant_values=self.pad_value)
        # Step i+1 is fed the last frame of group i; step 0 gets the <GO> (zero) frame.
        teacher = tf.concat([tf.zeros_like(padded[:, :1]), padded[:, self.r - 1::self.r][:, :-1]], axis=1)
        mel_before, stops, alignment, _ = self._decode(memory, mask, steps, teacher, training, dropout_seed,
                                                       always_dropout=True)
        mel_before = mel_before[:, :frames]
        return {"mel_before": mel_before, "mel_after": self.apply_postnet(mel_before, training)[:, :frames],
                "stop_logits": stops, "alignment": alignment}

    def infer(self, token_ids, token_length, speaker_embedding, max_steps=None, prenet_dropout: bool = True,
              dropout_seed: Optional[tf.Tensor] = None):
        """Free running, batched. Returns mel [B, F, n_mels] (padding past each mel_length set to the pad
        value), mel_length [B] (frames), alignment [B, steps, T]. prenet_dropout=False makes the output
        deterministic; a dropout_seed makes the dropout masks reproducible (stateless)."""
        memory, mask = self.encode(token_ids, token_length, speaker_embedding, training=False)
        if max_steps is None:
            max_steps = self.max_steps(tf.reduce_max(token_length))
        frames, _, alignment, lengths = self._decode(memory, mask, max_steps, None, False, dropout_seed,
                                                     always_dropout=prenet_dropout)
        return self.finish(frames, lengths, alignment)

    def max_steps(self, tokens):
        """The decoder's step limit for `tokens` input tokens (`max_decoder_steps`)."""
        return max_decoder_steps(tokens, self)

    def finish(self, frames, lengths, alignment):
        """Decoder frames [B, steps * r, n_mels] -> infer's outputs: the postnet, padding past each length."""
        mel = self.apply_postnet(frames)
        mel_length = lengths * self.r
        valid = tf.sequence_mask(mel_length, tf.shape(mel)[1])[..., None]
        mel = tf.where(valid, mel, self.pad_value)
        return {"mel": mel, "mel_length": mel_length, "alignment": alignment}

    def decode_fixed(self, token_ids, token_length, speaker_embedding, prenet_dropout: bool = True,
                     dropout_seed: Optional[tf.Tensor] = None):
        """The free-running decode loop in a form XLA compiles (jit_compile=True), batched: fixed-size
        buffers of max_steps(T) steps, T the token width (pad token_ids to a few bucket widths so that
        compiled programs are reused), the loop still ending when every item stopped or at the
        longest item's own limit. Returns (frames [B, buffer * r, n_mels], lengths [B] in steps, alignment
        [B, buffer, T], steps run); `finish(frames[:, :steps * r], lengths, alignment[:, :steps])` then
        equals `infer` (the slicing and the postnet stay outside the compiled program)."""
        memory, mask = self.encode(token_ids, token_length, speaker_embedding, training=False)
        # From the token width, which XLA knows when it compiles: a compile-time constant there.
        buffer = self.max_steps(tf.shape(token_ids)[1])
        frames, _, alignment, lengths, steps = self._decode(
            memory, mask, self.max_steps(tf.reduce_max(token_length)), None, False, dropout_seed,
            always_dropout=prenet_dropout, buffer_steps=buffer)
        return frames, lengths, alignment, steps

    def fit_stored_weight(self, path: str, value: np.ndarray, shape) -> Optional[np.ndarray]:
        """A weight stored by a Tacotron 2 of another reduction factor, made to fit this one, for a partial
        warm start (`tfclone-train --init_weights_partial`); None for any other mismatch. The frame
        projection's outputs are r frames of n_mels each, frame-major: fewer frames take the stored
        projection's leading frames, more repeat its last frame, so the warm model predicts its first frames
        as well as the stored one did from the first step."""
        projection = self.frame_projection
        if path not in (projection.kernel.path, projection.bias.path):
            return None
        stored = value.shape[-1]
        if tuple(value.shape[:-1]) != tuple(shape[:-1]) or stored % self.n_mels or shape[-1] != self.r * self.n_mels:
            return None
        frames = value.reshape(value.shape[:-1] + (stored // self.n_mels, self.n_mels))
        taken = np.minimum(np.arange(self.r), frames.shape[-2] - 1)
        return frames[..., taken, :].reshape(tuple(shape))

    def get_config(self):
        return {**super().get_config(), "num_symbols": self.num_symbols, "n_mels": self.n_mels,
                "pad_value": self.pad_value, **{k: getattr(self, k) for k in model_arguments()}}


def max_decoder_steps(tokens, bounds):
    """The decoder's step limit for `tokens` input tokens: max_decoder_steps_per_token frames each, and at
    least min_decoder_frames (a one-word sentence takes more frames per token than a long one), in steps of
    reduction_factor frames, + 1 for the stop. `bounds`: a Tacotron2 or its SynthesizerModelConfig (the same
    field names), so callers holding only an exported config compute the cap the model uses."""
    r = bounds.reduction_factor
    # Integer ceil-division: a float division rounds differently under XLA (times the reciprocal).
    frames = tf.cast(tf.math.ceil(tf.cast(tokens, tf.float32) * bounds.max_decoder_steps_per_token), tf.int32)
    frames = tf.maximum(frames, bounds.min_decoder_frames)
    return (frames + r - 1) // r + 1


def build_tacotron2(num_symbols: int, audio: AudioConfig, model: SynthesizerModelConfig) -> Tacotron2:
    """Config -> built model (weights created by one eager teacher-forced call on a tiny batch)."""

    tacotron = Tacotron2(num_symbols, audio.n_mels, audio.silence,
                         **{k: getattr(model, k) for k in model_arguments()})
    tacotron({"token_ids": tf.ones([1, 3], tf.int32), "token_length": tf.constant([3]),
              "speaker_embedding": tf.zeros([1, model.speaker_embedding_dim]),
              "mel": tf.zeros([1, model.reduction_factor * 2, audio.n_mels])})
    return tacotron


def model_arguments():
    """The Tacotron2 keyword arguments, each a SynthesizerModelConfig field of the same name."""
    return [name for name, p in inspect.signature(Tacotron2.__init__).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "name"]
