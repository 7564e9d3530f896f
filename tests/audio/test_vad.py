"""In-graph long-silence trimming: equal to a NumPy transcription of Resemblyzer's trim_long_silences
(its moving average and dilation, with the energy voice flags in place of webrtcvad's), batched."""
import numpy as np
import tensorflow as tf
from scipy.ndimage import binary_dilation

from tfclone.audio.vad import trim_long_silences

RATE, WINDOW = 16000, 480


def numpy_trim(wav, threshold_db, floor_dbfs):
    """Resemblyzer's trim_long_silences with `voice_flags` from window energy."""
    wav = wav[:len(wav) - len(wav) % WINDOW]
    energy = 10 * np.log10(np.mean(wav.reshape(-1, WINDOW) ** 2, axis=1) + 1e-10)
    flags = (energy > energy.max() - threshold_db) & (energy > floor_dbfs)
    padded = np.concatenate((np.zeros(3), flags.astype(float), np.zeros(4)))
    ret = np.cumsum(padded)
    ret[8:] = ret[8:] - ret[:-8]
    mask = np.round(ret[7:] / 8).astype(bool)
    mask[:] = binary_dilation(mask, np.ones(7))
    kept = wav[np.repeat(mask, WINDOW)]
    return kept if len(kept) else wav


def utterance(rng, pattern):
    """Speech-like bursts (noise at -20 dBFS) and silences (-70 dBFS hiss), `pattern` of (seconds, voiced)."""
    parts = [rng.normal(0, 0.1 if voiced else 3e-4, int(seconds * RATE)) for seconds, voiced in pattern]
    return np.concatenate(parts).astype(np.float32)


def test_equals_the_numpy_transcription_in_a_padded_batch():
    rng = np.random.default_rng(0)
    a = utterance(rng, [(0.5, False), (0.8, True), (0.12, False), (0.6, True), (1.0, False), (0.4, True),
                        (0.7, False)])  # a short pause (kept by the dilation), a long one (cut), silent edges
    b = utterance(rng, [(0.3, True), (0.05, False), (0.2, True), (0.33, False)])
    batch = np.zeros([2, len(a) + 1000], np.float32)
    batch[0, :len(a)], batch[1, :len(b)] = a, b
    batch[1, len(b):] = 0.5  # garbage past the length must be ignored
    trimmed, lengths = trim_long_silences(tf.constant(batch), tf.constant([len(a), len(b)]), RATE, 40.0, -55.0)
    for row, wav in enumerate((a, b)):
        expected = numpy_trim(wav, 40.0, -55.0)
        assert int(lengths[row]) == len(expected)
        np.testing.assert_array_equal(trimmed.numpy()[row, :len(expected)], expected)
        assert not trimmed.numpy()[row, len(expected):].any()
    assert int(lengths[0]) < len(a) - RATE * 0.9  # most of the 1 s pause and the silent edges are gone
    assert int(lengths[0]) > RATE * (0.8 + 0.6 + 0.4)  # all the speech stays


def test_silent_or_very_short_utterances_are_left_as_they_are():
    silent = np.full(8000, 1e-5, np.float32)
    short = np.full(300, 0.1, np.float32)  # under one 30 ms window
    batch = np.zeros([2, 8000], np.float32)
    batch[0], batch[1, :300] = silent, short
    trimmed, lengths = trim_long_silences(tf.constant(batch), tf.constant([8000, 300]), RATE, 40.0, -55.0)
    assert lengths.numpy().tolist() == [7680, 300]  # the whole windows of the silent one; the short one whole
    np.testing.assert_array_equal(trimmed.numpy()[1, :300], short)
