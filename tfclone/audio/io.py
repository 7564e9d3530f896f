"""Reading and writing audio: any libsndfile format, mixed to mono, resampled with soxr, saved atomically."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import soundfile as sf
import soxr

from tfclone.fileio import atomic_path


class AudioError(ValueError):
    """An audio input is unreadable, empty, silent, too short or not finite. The message names it;
    `reason` is one word for counting (missing, unreadable, empty, nonfinite, silent, too_short)."""

    def __init__(self, message: str, reason: str = "invalid"):
        super().__init__(message)
        self.reason = reason


def load(path: str, sample_rate: Optional[int] = None, *, min_seconds: float = 0.0,
         silence_threshold: float = 1e-4) -> np.ndarray:
    """Reads `path` as float32 mono in [-1, 1], resampled to `sample_rate` (None keeps the file's rate).

    Raises AudioError, naming the file, when it is missing, unreadable, empty, all silent (peak below
    `silence_threshold`), non-finite, or shorter than `min_seconds`.
    """
    wav, rate = load_with_rate(path)
    if sample_rate is not None and rate != sample_rate:
        wav = resample(wav, rate, sample_rate)
        rate = sample_rate
    check(wav, rate, name=path, min_seconds=min_seconds, silence_threshold=silence_threshold)
    return wav


def load_with_rate(path: str):
    """Reads `path` as float32 mono at its own rate: returns (wav [S], rate). Only unreadable/empty fail."""
    if not os.path.exists(path):
        raise AudioError(f"{path}: no such file", "missing")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)  # [S, C]
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError or TypeError by version
        raise AudioError(f"{path}: unreadable audio ({e})", "unreadable") from None
    if data.size == 0:
        raise AudioError(f"{path}: empty audio (no samples)", "empty")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return np.ascontiguousarray(wav, dtype=np.float32), int(rate)


def check(wav: np.ndarray, sample_rate: int, *, name: str = "audio", min_seconds: float = 0.0,
          silence_threshold: float = 1e-4) -> None:
    """Raises AudioError naming `name` if `wav` is empty, non-finite, all silent or too short."""
    if wav.size == 0:
        raise AudioError(f"{name}: empty audio (no samples)", "empty")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{name}: audio contains NaN or Inf samples", "nonfinite")
    peak = float(np.max(np.abs(wav)))
    if peak < silence_threshold:
        raise AudioError(f"{name}: audio is silent (peak {peak:.2e} below {silence_threshold:.0e})", "silent")
    seconds = wav.size / float(sample_rate)
    if seconds < min_seconds:
        raise AudioError(f"{name}: audio is too short ({seconds:.2f} s, need at least {min_seconds:g} s)",
                         "too_short")


def resample(wav: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resamples with soxr's high-quality filter; returns float32."""
    if rate_in == rate_out:
        return wav.astype(np.float32, copy=False)
    return soxr.resample(wav.astype(np.float32, copy=False), rate_in, rate_out, quality="HQ").astype(np.float32)


def save(path: str, wav: np.ndarray, sample_rate: int, subtype: Optional[str] = None) -> None:
    """Writes `wav` (float, [S] or [S, C]) to `path` via a temporary file renamed into place.

    The format follows the extension (wav, flac, ogg, ...). Samples are clipped to [-1, 1]. Nothing is
    left at `path` (or beside it) if writing fails.
    """
    wav = np.asarray(wav)
    if wav.size == 0:
        raise AudioError(f"{path}: refusing to write empty audio")
    if not np.all(np.isfinite(wav)):
        raise AudioError(f"{path}: refusing to write audio with NaN or Inf samples")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    ext = os.path.splitext(path)[1]
    fmt = ext.lstrip(".").upper() or None
    if fmt is None or fmt not in sf.available_formats():
        raise AudioError(f"{path}: unknown audio format {ext!r} (known: "
                         f"{', '.join(sorted(k.lower() for k in sf.available_formats()))})")
    with atomic_path(path, suffix=ext) as tmp:
        sf.write(tmp, np.clip(wav, -1.0, 1.0), sample_rate, subtype=subtype, format=fmt)
