"""Speech-like test signals made in code: a source-filter model (glottal pulses through formant resonators,
with noisy fricatives and a syllabic envelope). Tests and benchmarks use it where real speech would need a
download; different `f0`/`formant_shift` values give audibly and spectrally different "speakers"."""
from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

# (F1, F2, F3) in Hz of a few vowels (Peterson & Barney averages, adult male).
_VOWELS = np.array([[730, 1090, 2440], [270, 2290, 3010], [300, 870, 2240], [530, 1840, 2480],
                    [570, 840, 2410], [660, 1720, 2410], [490, 1350, 1690]], dtype=np.float64)


def _resonator(signal: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / rate)
    theta = 2 * np.pi * freq / rate
    a = [1.0, -2 * r * np.cos(theta), r * r]
    return lfilter([1.0 - r], a, signal)


def speech_like(seconds: float = 2.0, sample_rate: int = 16000, f0: float = 120.0,
                formant_shift: float = 1.0, seed: int = 0, syllables_per_second: float = 4.0,
                peak: float = 0.8) -> np.ndarray:
    """A float32 waveform [round(seconds * sample_rate)] in [-peak, peak] that looks like speech to an STFT."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    # Pitch: slow intonation glide plus jitter; pulses where the accumulated phase wraps.
    pitch = f0 * (1.0 + 0.15 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6)) + 0.01 * rng.standard_normal(n))
    phase = np.cumsum(pitch / sample_rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    source = lfilter([1.0], [1.0, -0.95], pulses)  # glottal roll-off
    # Segments: each syllable picks a vowel; ~25% of segments are fricative noise instead.
    seg_len = max(1, int(sample_rate / syllables_per_second))
    out = np.zeros(n)
    for start in range(0, n, seg_len):
        stop = min(n, start + seg_len)
        seg = np.arange(stop - start)
        envelope = np.sin(np.pi * (seg + 0.5) / len(seg)) ** 2
        if rng.uniform() < 0.25:
            noise = rng.standard_normal(len(seg))
            piece = _resonator(noise, rng.uniform(3000, 6000) * min(formant_shift, 1.2), 1500, sample_rate) * 0.3
        else:
            formants = _VOWELS[rng.integers(len(_VOWELS))] * formant_shift
            piece = np.zeros(len(seg))
            for k, (freq, bw) in enumerate(zip(formants, (80, 120, 160))):
                if freq < sample_rate / 2 - 200:
                    piece += _resonator(source[start:stop], freq, bw, sample_rate) / (k + 1)
        out[start:stop] = piece * envelope
    out += 1e-3 * rng.standard_normal(n)  # room noise floor
    out = out / (np.max(np.abs(out)) + 1e-12) * peak
    return out.astype(np.float32)
