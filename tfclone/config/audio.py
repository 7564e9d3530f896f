"""The audio feature config and the two presets of DESIGN.md, defined here once.

encoder:   16 kHz, 25 ms / 10 ms (400 / 160), 40 mels, 0-8 kHz, power mel (Resemblyzer's encoder input).
synthesis: 16 kHz default, 50 ms / 12.5 ms (800 / 200 at 16 kHz), 80 mels, 55-7600 Hz, log magnitude mel.
hifigan:   22.05 kHz, n_fft = win 1024, hop 256, 80 mels, 0-8000 Hz, log magnitude mel clamped at 1e-5,
           reflect padding of (n_fft - hop) / 2 and no centring (HiFi-GAN V1's meldataset.py).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Literal

from tfclone.config.base import Config


@dataclasses.dataclass(frozen=True)
class AudioConfig(Config):
    """STFT and mel parameters. Mel = mel_basis(slaney) @ |STFT|**power; log-mel = log(max(mel, log_floor))."""

    retired_keys = ("trim_top_db",)  # never read; silence trimming is tfclone-preprocess's option

    sample_rate: int = 16000
    n_fft: int = 800
    win_length: int = 800
    hop_length: int = 200
    n_mels: int = 80
    fmin: float = 55.0
    fmax: float = 7600.0
    power: float = 1.0  # 1: magnitude, 2: power spectrum
    mel_scale: Literal["log", "linear"] = "log"
    log_floor: float = 1e-5
    preemphasis: float = 0.0  # 0 disables; e.g. 0.97
    # "center": librosa's center=True with zero padding (1 + S // hop frames); "reflect": HiFi-GAN's
    # reflect padding of (n_fft - hop) / 2 at both ends, no centring (S // hop frames).
    padding: Literal["center", "reflect"] = "center"

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "sample_rate", "n_fft", "win_length", "hop_length", "n_mels",
                               "power", "log_floor")
        if self.win_length > self.n_fft:
            self._fail(prefix, "win_length", f"must be <= n_fft ({self.n_fft})")
        if self.hop_length > self.win_length:
            self._fail(prefix, "hop_length", f"must be <= win_length ({self.win_length}), or frames skip audio")
        if self.fmin < 0:
            self._fail(prefix, "fmin", "must be >= 0")
        if self.fmax > self.sample_rate / 2:
            self._fail(prefix, "fmax", f"must be <= the Nyquist frequency ({self.sample_rate / 2:g} Hz)")
        if self.fmin >= self.fmax:
            self._fail(prefix, "fmin", f"must be < fmax ({self.fmax:g})")
        if self.n_mels > self.n_fft // 2 + 1:
            self._fail(prefix, "n_mels", f"must be <= n_fft // 2 + 1 ({self.n_fft // 2 + 1})")
        if not 0.0 <= self.preemphasis < 1.0:
            self._fail(prefix, "preemphasis", "must be in [0, 1)")
        if self.padding == "reflect" and ((self.n_fft - self.hop_length) % 2 or self.win_length != self.n_fft):
            self._fail(prefix, "padding", "reflect padding needs n_fft - hop_length even and win_length == n_fft")

    @property
    def num_freq(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def silence(self) -> float:
        """The feature value of silence (and of padding): log(log_floor) for log mels, 0 for linear ones."""
        return float(math.log(self.log_floor)) if self.mel_scale == "log" else 0.0


def encoder_audio() -> AudioConfig:
    """The speaker encoder's preset (GE2E / Resemblyzer): 40 power-mel bands, 25 ms / 10 ms at 16 kHz."""
    return AudioConfig(sample_rate=16000, n_fft=400, win_length=400, hop_length=160, n_mels=40,
                       fmin=0.0, fmax=8000.0, power=2.0, mel_scale="linear")


def synthesis_audio(sample_rate: int = 16000) -> AudioConfig:
    """Tacotron 2 targets and WaveNet conditioning: 80 log-mel bands, 50 ms / 12.5 ms, 55-7600 Hz."""
    win = int(round(sample_rate * 0.050))
    hop = int(round(sample_rate * 0.0125))
    return AudioConfig(sample_rate=sample_rate, n_fft=win, win_length=win, hop_length=hop, n_mels=80,
                       fmin=55.0, fmax=min(7600.0, sample_rate / 2), power=1.0, mel_scale="log")


def hifigan_audio() -> AudioConfig:
    """HiFi-GAN V1's features (the pretrained universal generator's input), exactly."""
    return AudioConfig(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0.0,
                       fmax=8000.0, power=1.0, mel_scale="log", log_floor=1e-5, padding="reflect")
