"""Mel-cepstral distortion between a waveform and its reference, for copy-synthesis (same length, no time
warping): MCD = mean over speech frames of (10 / ln 10) * sqrt(2 * sum_{d=1..D} (c_d - c'_d)^2), in dB,
where c are the cepstra (orthonormal DCT-II) of the natural-log mel amplitude spectrum and c_0 (overall
level) is left out. Frames more than `top_db` below the reference's loudest are not counted. Each log mel
spectrum is floored `floor_db` below its own loudest bin (not at an absolute floor): band-limited references
(8 kHz TTS voices resampled to 16 kHz have empty upper bands) otherwise make any faint wideband noise in the
copy count as ~100 dB of difference in those bands, and the floor moves with the level, so MCD stays blind
to gain.

This is the mel-frequency (filterbank) cepstrum, not SPTK's all-pass mel-cepstrum of a WORLD envelope, so
values are comparable across runs of this recipe, not with numbers from papers.
"""
from __future__ import annotations

import math

import librosa
import numpy as np
import scipy.fft

_DB = 10.0 / math.log(10.0)


def mel_cepstrum(wav: np.ndarray, sample_rate: int, order: int = 24, n_mels: int = 40, n_fft: int = 1024,
                 hop_length: int = 200, floor_db: float = 80.0) -> np.ndarray:
    """[S] -> [F, order + 1] cepstra c_0..c_order of the log mel amplitude spectrum, floored `floor_db`
    below its loudest bin."""
    mel = librosa.feature.melspectrogram(y=np.asarray(wav, np.float32), sr=sample_rate, n_fft=n_fft,
                                         hop_length=hop_length, n_mels=n_mels, power=1.0, center=True)
    floor = max(float(mel.max()), 1e-10) * 10.0 ** (-floor_db / 20.0)
    log_mel = np.log(np.maximum(mel, floor)).T  # [F, n_mels]
    return scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1)[:, :order + 1]


def mel_cepstral_distortion(wav: np.ndarray, reference: np.ndarray, sample_rate: int, order: int = 24,
                            top_db: float = 40.0, **kwargs) -> float:
    """MCD in dB of `wav` against `reference` (the shorter length of the two is compared)."""
    n = min(len(wav), len(reference))
    if n == 0:
        raise ValueError("mel_cepstral_distortion: empty waveform")
    c = mel_cepstrum(wav[:n], sample_rate, order, **kwargs)
    ref = mel_cepstrum(reference[:n], sample_rate, order, **kwargs)
    energy = ref[:, 0]  # c_0 is the mean log amplitude, scaled: a level in nats * sqrt(n_mels)
    n_mels = kwargs.get("n_mels", 40)
    speech = energy >= energy.max() - top_db / (20.0 / math.log(10.0)) * math.sqrt(n_mels)
    distance = np.sqrt(2.0 * np.sum((c[speech, 1:] - ref[speech, 1:]) ** 2, axis=1))
    return float(_DB * np.mean(distance))
