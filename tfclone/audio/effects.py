"""Waveform clean-up in NumPy for data preparation: silence trimming, peak and loudness normalization."""
from __future__ import annotations

import numpy as np


def trim_silence(wav: np.ndarray, top_db: float = 40.0, frame_length: int = 800,
                 hop_length: int = 200) -> np.ndarray:
    """Cuts leading and trailing audio quieter than `top_db` below the peak (librosa.effects.trim)."""
    import librosa

    trimmed, _ = librosa.effects.trim(wav, top_db=top_db, frame_length=frame_length, hop_length=hop_length)
    return trimmed


def normalize_peak(wav: np.ndarray, peak: float = 0.95) -> np.ndarray:
    """Scales so that max |x| == peak (silence is returned unchanged)."""
    current = float(np.max(np.abs(wav))) if wav.size else 0.0
    if current == 0.0:
        return wav
    return (wav * (peak / current)).astype(np.float32)


def rms_dbfs(wav: np.ndarray) -> float:
    """Loudness as RMS in dB relative to full scale (a full-scale square wave is 0 dBFS)."""
    return float(10.0 * np.log10(np.mean(np.square(wav, dtype=np.float64)) + 1e-20))


def normalize_loudness(wav: np.ndarray, target_dbfs: float = -30.0, increase_only: bool = False,
                       decrease_only: bool = False) -> np.ndarray:
    """Scales to `target_dbfs` RMS (Resemblyzer's `normalize_volume`, increase_only as it uses it)."""
    if increase_only and decrease_only:
        raise ValueError("normalize_loudness: increase_only and decrease_only are exclusive")
    change = target_dbfs - rms_dbfs(wav)
    if (change < 0 and increase_only) or (change > 0 and decrease_only):
        return wav
    return (wav * 10.0 ** (change / 20.0)).astype(np.float32)


def deemphasis(wav: np.ndarray, coefficient: float) -> np.ndarray:
    """Undoes features.preemphasis: y[t] = x[t] + a * y[t - 1]."""
    if coefficient == 0.0:
        return wav
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -coefficient], wav).astype(np.float32)
