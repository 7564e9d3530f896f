"""Mel-cepstral distortion: zero for the same audio, blind to overall level (c_0 is excluded), equal to
the formula computed by hand, and larger for worse copies."""
import math

import numpy as np

from tfclone.audio.synthetic import speech_like
from tfclone.eval.mcd import mel_cepstral_distortion, mel_cepstrum


def test_zero_for_identical_and_blind_to_gain():
    wav = speech_like(1.0, seed=0)
    assert mel_cepstral_distortion(wav, wav, 16000) == 0.0
    assert mel_cepstral_distortion(0.3 * wav, wav, 16000) < 1e-3  # level lives in c_0 only


def test_equals_the_formula_and_grows_with_noise():
    rng = np.random.default_rng(1)
    wav = speech_like(1.0, seed=2)
    noisy = wav + 0.01 * rng.standard_normal(len(wav)).astype(np.float32)
    c, ref = mel_cepstrum(noisy, 16000), mel_cepstrum(wav, 16000)
    speech = ref[:, 0] >= ref[:, 0].max() - 40.0 / (20.0 / math.log(10.0)) * math.sqrt(40)
    by_hand = np.mean([10.0 / math.log(10.0) * math.sqrt(2.0 * np.sum((a[1:] - b[1:]) ** 2))
                       for a, b in zip(c[speech], ref[speech])])
    got = mel_cepstral_distortion(noisy, wav, 16000)
    assert abs(got - by_hand) < 1e-6 * by_hand and got > 0.5
    noisier = wav + 0.1 * rng.standard_normal(len(wav)).astype(np.float32)
    assert mel_cepstral_distortion(noisier, wav, 16000) > 1.5 * got


def test_empty_bands_are_floored_relative_to_the_loudest():
    """A reference with nothing above 4 kHz (an 8 kHz voice resampled): faint noise in the copy's empty
    bands counts for at most the floor's depth (80 dB below the loudest bin), not for the distance down to
    a tiny absolute floor."""
    import scipy.signal
    rng = np.random.default_rng(3)
    low = scipy.signal.sosfiltfilt(scipy.signal.butter(12, 3800, fs=16000, output="sos"),
                                   speech_like(1.0, seed=4)).astype(np.float32)
    noisy = low + 1e-4 * rng.standard_normal(len(low)).astype(np.float32)
    floored = mel_cepstral_distortion(noisy, low, 16000)
    deep = mel_cepstral_distortion(noisy, low, 16000, floor_db=200.0)
    assert floored < 0.5 * deep, (floored, deep)
    assert mel_cepstral_distortion(3.0 * noisy, low, 16000) == floored or \
        abs(mel_cepstral_distortion(3.0 * noisy, low, 16000) - floored) < 1e-3  # the floor moves with the level
