"""Long-silence trimming in the graph, the equivalent of Resemblyzer's `trim_long_silences` (which runs
webrtcvad outside any graph), so that every caller of an exported speaker encoder, TF Serving included,
embeds the same speech.

Per 30 ms window a voice flag, here from the window's energy: louder than `floor_dbfs` and within
`threshold_db` of the utterance's loudest window (webrtcvad's GMM cannot run in a graph). Then Resemblyzer's
smoothing exactly: a moving average of the flags over 8 windows rounded half to even (so at least 5 of the
8 windows must be voiced), dilated by 3 windows on each side (silences shorter than 6 windows survive),
and every sample of a kept window kept; the samples after the last whole window are dropped, as there.
An utterance in which no window is voiced keeps all its whole windows; one shorter than a window is left
as it is.
"""
from __future__ import annotations

import math

import tensorflow as tf

WINDOW_MS = 30
AVERAGE_WINDOWS = 8  # Resemblyzer's vad_moving_average_width
MAX_SILENCE_WINDOWS = 6  # Resemblyzer's vad_max_silence_length: dilation by a window of 7


def voiced_windows(audio_batch, audio_length, sample_rate: int, threshold_db: float, floor_dbfs: float):
    """Raw audio [B, S], lengths [B] -> (window mask [B, W] after smoothing and dilation, window count [B])."""
    size = sample_rate * WINDOW_MS // 1000
    audio_batch = tf.convert_to_tensor(audio_batch, tf.float32)
    counts = tf.cast(audio_length, tf.int32) // size
    width = tf.shape(audio_batch)[1] // size
    frames = tf.reshape(audio_batch[:, :width * size], [tf.shape(audio_batch)[0], width, size])
    energy_db = 10.0 * tf.math.log(tf.reduce_mean(tf.square(frames), axis=-1) + 1e-10) / math.log(10.0)
    valid = tf.sequence_mask(counts, width)
    peak = tf.reduce_max(tf.where(valid, energy_db, -1e9), axis=1, keepdims=True)
    flags = valid & (energy_db > peak - threshold_db) & (energy_db > floor_dbfs)
    # Moving average over [i - 3, i + 4] (zeros outside), rounded half to even: voiced if > 4 of 8.
    before, after = (AVERAGE_WINDOWS - 1) // 2, AVERAGE_WINDOWS // 2
    padded = tf.pad(tf.cast(flags, tf.float32), [[0, 0], [before, after]])
    sums = tf.nn.conv1d(padded[..., None], tf.ones([AVERAGE_WINDOWS, 1, 1]), 1, "VALID")[..., 0]
    smoothed = sums > AVERAGE_WINDOWS / 2
    # Binary dilation with a structure of MAX_SILENCE_WINDOWS + 1 ones, centred.
    dilated = tf.nn.max_pool1d(tf.cast(smoothed, tf.float32)[..., None], MAX_SILENCE_WINDOWS + 1, 1, "SAME")[..., 0]
    return (dilated > 0) & valid, counts


def trim_long_silences(audio_batch, audio_length, sample_rate: int, threshold_db: float, floor_dbfs: float):
    """Raw audio [B, S] (anything past each length ignored), lengths [B] -> (trimmed audio [B, S'] with the
    kept samples of each utterance moved to its front in order and zeros after, new lengths [B])."""
    size = sample_rate * WINDOW_MS // 1000
    audio_batch = tf.convert_to_tensor(audio_batch, tf.float32)
    keep_windows, counts = voiced_windows(audio_batch, audio_length, sample_rate, threshold_db, floor_dbfs)
    keep_windows = tf.logical_or(keep_windows, tf.logical_not(tf.reduce_any(keep_windows, axis=1, keepdims=True))
                                 & tf.sequence_mask(counts, tf.shape(keep_windows)[1]))
    keep = tf.repeat(keep_windows, size, axis=1)  # [B, W * size]
    audio = audio_batch[:, :tf.shape(keep)[1]]
    # A stable sort on "dropped" brings the kept samples to the front, in their order.
    order = tf.argsort(tf.cast(tf.logical_not(keep), tf.int32), axis=1, stable=True)
    lengths = tf.reduce_sum(tf.cast(keep, tf.int32), axis=1)
    moved = tf.gather(audio, order, batch_dims=1)
    moved = moved * tf.sequence_mask(lengths, tf.shape(moved)[1], tf.float32)
    # Utterances shorter than one window keep their audio as it was.
    short = counts == 0
    lengths = tf.where(short, tf.cast(audio_length, tf.int32), lengths)
    width = tf.maximum(tf.shape(moved)[1], tf.reduce_max(lengths))
    moved = tf.pad(moved, [[0, 0], [0, width - tf.shape(moved)[1]]])
    original = tf.pad(audio_batch, [[0, 0], [0, tf.maximum(0, width - tf.shape(audio_batch)[1])]])[:, :width]
    return tf.where(short[:, None], original, moved), lengths
