"""The GE2E speaker encoder (arXiv 1710.10467 §3; SV2TTS arXiv 1806.04558 §2.1).

call():            mel frames [B, T, n_mels] -> LSTM stack -> linear -> (ReLU) -> L2 norm -> [B, D].
embed_utterances(): raw audio [B, S] + lengths [B] -> one embedding per utterance [B, D]: features in-graph,
                   1.6 s partial windows at `partial_rate` per second, the last kept only if it covers
                   `min_coverage`, mean of the partial embeddings, L2 normalized (as Resemblyzer's
                   embed_utterance). The same function runs eagerly in Python and inside the SavedModel.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from tfclone.audio import features, vad
from tfclone.config.audio import AudioConfig
from tfclone.config.experiments import SpeakerEncoderModelConfig
from tfclone.layers.tracking import track_for_checkpoints


class SpeakerEncoder(keras.Model):
    """LSTM stack over mel frames. With `lstm_projection` > 0 each LSTM output is linearly projected
    (a Dense after the layer, the LSTMP of the paper with the projection outside the recurrence)."""

    def __init__(self, n_mels: int = 40, lstm_layers: int = 3, lstm_units: int = 768, lstm_projection: int = 256,
                 embedding_dim: int = 256, final_relu: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.n_mels, self.lstm_layers, self.lstm_units = n_mels, lstm_layers, lstm_units
        self.lstm_projection, self.embedding_dim, self.final_relu = lstm_projection, embedding_dim, final_relu
        self.lstms = [keras.layers.LSTM(lstm_units, return_sequences=i < lstm_layers - 1, name=f"lstm_{i}")
                      for i in range(lstm_layers)]
        self.projections = [keras.layers.Dense(lstm_projection, use_bias=False, name=f"projection_{i}")
                            for i in range(lstm_layers)] if lstm_projection else []
        track_for_checkpoints(self, self.lstms + self.projections)
        self.linear = keras.layers.Dense(embedding_dim, name="linear")

    def call(self, mel, training=False):
        """mel [B, T, n_mels] -> L2-normalized embedding [B, embedding_dim] from the last frame's state."""
        x = mel
        for i, lstm in enumerate(self.lstms):
            x = lstm(x, training=training)  # [B, T, units], the last layer [B, units]
            if self.projections:
                x = self.projections[i](x)
        x = self.linear(x)
        if self.final_relu:
            x = tf.nn.relu(x)
        return tf.math.l2_normalize(tf.cast(x, tf.float32), axis=-1)

    def infer(self, mel):
        """The same as call() for inference, each LSTM run by TensorFlow's fused BlockLSTMV2 kernel: one op for
        the whole sequence instead of a while loop of per-step matmul and gate ops (1.06-1.14x for a 10 s clip
        with Resemblyzer's three 256-unit layers on 2 cores, benchmarks/encoder_speed.py). Keras's LSTM keeps its gates in the kernel's order
        (input, forget, cell, output), which is the kernel's too, so its weights are used as they are. The
        op is in core TensorFlow (TF Serving runs it); it has no XLA kernel, which embedding does not use."""
        x = tf.transpose(tf.cast(mel, tf.float32), [1, 0, 2])  # [T, B, n_mels], time-major
        batch = tf.shape(x)[1]
        for i, lstm in enumerate(self.lstms):
            cell = lstm.cell
            units = cell.units
            zeros, no_peephole = tf.zeros([batch, units]), tf.zeros([units])
            w = tf.concat([tf.cast(cell.kernel, tf.float32), tf.cast(cell.recurrent_kernel, tf.float32)], axis=0)
            bias = tf.cast(cell.bias, tf.float32) if cell.use_bias else tf.zeros([4 * units])
            h = tf.raw_ops.BlockLSTMV2(seq_len_max=tf.cast(tf.shape(x)[0], tf.int64), x=x, cs_prev=zeros,
                                       h_prev=zeros, w=w, wci=no_peephole, wcf=no_peephole, wco=no_peephole,
                                       b=bias, cell_clip=0.0, use_peephole=False)[6]  # [T, B, units]
            x = h if i < self.lstm_layers - 1 else h[-1]
            if self.projections:
                x = tf.matmul(x, tf.cast(self.projections[i].kernel, tf.float32))
        x = tf.matmul(x, tf.cast(self.linear.kernel, tf.float32)) + tf.cast(self.linear.bias, tf.float32)
        if self.final_relu:
            x = tf.nn.relu(x)
        return tf.math.l2_normalize(x, axis=-1)

    def get_config(self):
        return {**super().get_config(), "n_mels": self.n_mels, "lstm_layers": self.lstm_layers,
                "lstm_units": self.lstm_units, "lstm_projection": self.lstm_projection,
                "embedding_dim": self.embedding_dim, "final_relu": self.final_relu}


def build_speaker_encoder(audio: AudioConfig, model: SpeakerEncoderModelConfig) -> SpeakerEncoder:
    """Config -> built model (weights created by a forward pass on one partial)."""
    encoder = SpeakerEncoder(n_mels=audio.n_mels, lstm_layers=model.lstm_layers, lstm_units=model.lstm_units,
                             lstm_projection=model.lstm_projection, embedding_dim=model.embedding_dim,
                             final_relu=model.final_relu, name="speaker_encoder")
    encoder(tf.zeros([1, model.partial_frames, audio.n_mels]))
    return encoder


def partial_starts(num_samples: tf.Tensor, audio: AudioConfig, model: SpeakerEncoderModelConfig):
    """Start frames of the partial windows of utterances with `num_samples` [B] samples.

    Returns (starts [B, W] int32, valid [B, W] bool), W the largest window count in the batch. The rule is
    Resemblyzer's compute_partial_slices: n_frames = ceil((S + 1) / hop), frame_step = round(rate^-1 s /
    hop), starts 0, step, ... below max(1, n_frames - P + step + 1); the last window is dropped when it
    covers less than min_coverage of its length with audio (and is not the only one).
    """
    hop, p = audio.hop_length, model.partial_frames
    step = max(1, int(round(audio.sample_rate / model.partial_rate / hop)))
    num_samples = tf.cast(num_samples, tf.int32)
    n_frames = (num_samples + 1 + hop - 1) // hop  # ceil((S + 1) / hop)
    steps = tf.maximum(1, n_frames - p + step + 1)
    count = (steps + step - 1) // step  # len(range(0, steps, step))
    last_start = (count - 1) * step
    coverage = tf.cast(num_samples - last_start * hop, tf.float32) / float(p * hop)
    drop = tf.logical_and(coverage < model.min_coverage, count > 1)
    count = tf.where(drop, count - 1, count)
    width = tf.reduce_max(count)
    index = tf.range(width)[None, :]  # [1, W]
    valid = index < count[:, None]  # [B, W]
    return tf.broadcast_to(index * step, tf.shape(valid)), valid


def embed_utterances(encoder: SpeakerEncoder, audio_batch: tf.Tensor, audio_length: tf.Tensor,
                     audio: AudioConfig, model: SpeakerEncoderModelConfig) -> tf.Tensor:
    """Raw audio [B, S] (zero-padded past each length) + lengths [B] -> utterance embeddings [B, D].

    With model.volume_normalize_dbfs set, each utterance is first scaled up (never down) to that RMS
    level, as Resemblyzer's preprocess_wav does with -30 dBFS; with model.vad_trim, its long silences are
    then cut out (tfclone.audio.vad), as preprocess_wav does with webrtcvad.
    """
    volume_dbfs = model.volume_normalize_dbfs
    audio_batch = tf.convert_to_tensor(audio_batch, tf.float32)
    audio_length = tf.cast(audio_length, tf.int32)
    mask = tf.sequence_mask(audio_length, tf.shape(audio_batch)[1], dtype=tf.float32)  # [B, S]
    audio_batch = audio_batch * mask
    if volume_dbfs is not None:
        mean_square = tf.reduce_sum(tf.square(audio_batch), 1) / tf.cast(tf.maximum(audio_length, 1), tf.float32)
        change_db = volume_dbfs - 10.0 * tf.math.log(mean_square + 1e-20) / tf.math.log(10.0)
        gain = tf.pow(10.0, tf.maximum(change_db, 0.0) / 20.0)  # increase only
        audio_batch = audio_batch * gain[:, None]
    if model.vad_trim:
        audio_batch, audio_length = vad.trim_long_silences(audio_batch, audio_length, audio.sample_rate,
                                                           model.vad_threshold_db, model.vad_floor_dbfs)
    starts, valid = partial_starts(audio_length, audio, model)  # [B, W]
    p = model.partial_frames
    # Pad so every window's audio exists (zeros past the utterance, as Resemblyzer pads the wav).
    needed = (tf.reduce_max(starts) + p) * audio.hop_length
    audio_batch = tf.pad(audio_batch, [[0, 0], [0, tf.maximum(0, needed - tf.shape(audio_batch)[1])]])
    mel = features.mel_spectrogram(audio_batch, audio)  # [B, F, n_mels]
    frame_index = starts[:, :, None] + tf.range(p)[None, None, :]  # [B, W, P]
    windows = tf.gather(mel, frame_index, batch_dims=1)  # [B, W, P, n_mels]
    batch, width = tf.shape(windows)[0], tf.shape(windows)[1]
    partial = encoder.infer(tf.reshape(windows, [-1, p, audio.n_mels]))  # [B * W, D]
    partial = tf.reshape(partial, [batch, width, -1])
    weights = tf.cast(valid, partial.dtype)[..., None]  # [B, W, 1]
    mean = tf.reduce_sum(partial * weights, axis=1) / tf.reduce_sum(weights, axis=1)
    return tf.math.l2_normalize(mean, axis=-1)
