"""STFT, mel and log-mel in tf.signal: the ONE feature implementation used by tf.data, training and export.

Framing matches `librosa.stft(center=True, pad_mode="constant")`: frame t is centred on sample t * hop,
the signal is zero-padded at both ends, and a signal of S samples gives 1 + S // hop frames. Batches padded
with zeros past each item's length therefore give, for every frame below `frame_lengths(length)`, exactly
the frames of the unpadded item. Only core TF ops run in the graph (the mel basis is a constant), so every
SavedModel built on this takes raw waveforms and runs in TF Serving as is.
"""
from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from tfclone.config.audio import AudioConfig


@functools.lru_cache(maxsize=16)
def _mel_basis(sample_rate, n_fft, n_mels, fmin, fmax) -> np.ndarray:
    import librosa  # imported lazily: only needed to build the constant

    return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=False, norm="slaney").T.astype(np.float32)


def mel_basis(cfg: AudioConfig) -> np.ndarray:
    """Slaney-scale, slaney-normalized mel filterbank as librosa builds it: [n_fft // 2 + 1, n_mels]."""
    return _mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)


def frame_lengths(audio_length, cfg: AudioConfig):
    """Number of STFT frames of signals with `audio_length` samples: 1 + length // hop ("center"
    padding), length // hop ("reflect" padding of (n_fft - hop) / 2 at both ends)."""
    if cfg.padding == "reflect":
        return audio_length // cfg.hop_length
    return 1 + audio_length // cfg.hop_length


def _left_pad(cfg: AudioConfig) -> int:
    # librosa pads n_fft // 2 and centres the win_length window inside the n_fft frame.
    return cfg.n_fft // 2 - (cfg.n_fft - cfg.win_length) // 2


def preemphasis(audio: tf.Tensor, coefficient: float) -> tf.Tensor:
    """y[t] = x[t] - a * x[t - 1] along the last axis (y[0] = x[0])."""
    if coefficient == 0.0:
        return audio
    return tf.concat([audio[..., :1], audio[..., 1:] - coefficient * audio[..., :-1]], axis=-1)


def stft(audio: tf.Tensor, cfg: AudioConfig) -> tf.Tensor:
    """Complex STFT of `audio` [..., S] -> [..., 1 + S // hop, n_fft // 2 + 1], periodic Hann window."""
    audio = tf.convert_to_tensor(audio, tf.float32)
    window = tf.signal.hann_window(cfg.win_length, periodic=True, dtype=tf.float32)
    if cfg.padding == "reflect":  # HiFi-GAN: torch.stft(center=False) of the reflect-padded signal
        pad = (cfg.n_fft - cfg.hop_length) // 2
        rank = audio.shape.rank
        padded = tf.pad(audio, [[0, 0]] * (rank - 1) + [[pad, pad]], mode="REFLECT")
        frames = tf.signal.frame(padded, cfg.win_length, cfg.hop_length)  # [..., S // hop, win]
        return tf.signal.rfft(frames * window, fft_length=[cfg.n_fft])
    num_samples = tf.shape(audio)[-1]
    num_frames = 1 + num_samples // cfg.hop_length
    total = (num_frames - 1) * cfg.hop_length + cfg.win_length
    rank = audio.shape.rank
    paddings = [[0, 0]] * (rank - 1) + [[_left_pad(cfg), cfg.win_length]]
    padded = tf.pad(audio, paddings)[..., :total]
    frames = tf.signal.frame(padded, cfg.win_length, cfg.hop_length)  # [..., F, win]
    # rfft zero-pads each frame at its end; librosa centres it in n_fft. The two differ by a circular
    # shift, which changes the phase only: magnitudes (and the overlap-add inverse below) agree.
    return tf.signal.rfft(frames * window, fft_length=[cfg.n_fft])


def istft(spectrum: tf.Tensor, cfg: AudioConfig) -> tf.Tensor:
    """Inverse of `stft` by weighted overlap-add: [..., F, n_fft // 2 + 1] complex -> [..., (F - 1) * hop]
    ([..., F * hop] with "reflect" padding).

    Divides by the actual window-sum-square (not a steady-state constant), so the first and last
    half-windows, covered by fewer frames, come back exact too.
    """
    frames = tf.signal.irfft(spectrum, fft_length=[cfg.n_fft])[..., :cfg.win_length]  # [..., F, win]
    window = tf.signal.hann_window(cfg.win_length, periodic=True, dtype=tf.float32)
    audio = tf.signal.overlap_and_add(frames * window, cfg.hop_length)
    num_frames = tf.shape(spectrum)[-2]
    norm = tf.signal.overlap_and_add(tf.tile(tf.square(window)[None], [num_frames, 1]), cfg.hop_length)
    if cfg.padding == "reflect":  # F frames cover F * hop samples after the (n_fft - hop) / 2 padding
        start = (cfg.n_fft - cfg.hop_length) // 2
        stop = start + num_frames * cfg.hop_length
    else:
        start = _left_pad(cfg)
        stop = start + (num_frames - 1) * cfg.hop_length
    return audio[..., start:stop] / tf.maximum(norm[start:stop], 1e-8)


def linear_spectrogram(audio: tf.Tensor, cfg: AudioConfig) -> tf.Tensor:
    """|STFT| ** power: [..., S] -> [..., F, n_fft // 2 + 1]."""
    audio = preemphasis(tf.convert_to_tensor(audio, tf.float32), cfg.preemphasis)
    magnitude = tf.abs(stft(audio, cfg))
    return magnitude if cfg.power == 1.0 else tf.pow(magnitude, cfg.power)


def mel_spectrogram(audio: tf.Tensor, cfg: AudioConfig) -> tf.Tensor:
    """The model feature of `cfg`: [..., S] -> [..., 1 + S // hop, n_mels].

    mel_scale "linear": mel_basis @ |STFT|**power (librosa.feature.melspectrogram with the same settings);
    mel_scale "log": log(max(that, log_floor)).
    """
    mel = tf.tensordot(linear_spectrogram(audio, cfg), tf.constant(mel_basis(cfg)), axes=1)
    if cfg.mel_scale == "log":
        return tf.math.log(tf.maximum(mel, cfg.log_floor))
    return mel


def mel_to_linear(mel: tf.Tensor, cfg: AudioConfig) -> tf.Tensor:
    """Approximate magnitude spectrum |STFT| from a `mel_spectrogram` output (pseudo-inverse, clipped >= 0)."""
    mel = tf.convert_to_tensor(mel, tf.float32)
    if cfg.mel_scale == "log":
        mel = tf.exp(mel)
    inverse = np.linalg.pinv(mel_basis(cfg)).astype(np.float32)  # [n_mels, num_freq]
    powered = tf.maximum(tf.tensordot(mel, tf.constant(inverse), axes=1), 1e-10)
    return powered if cfg.power == 1.0 else tf.pow(powered, 1.0 / cfg.power)


def griffin_lim(mel: tf.Tensor, cfg: AudioConfig, iterations: int = 32, sharpen: float = 1.0,
                seed: int = 0) -> tf.Tensor:
    """Waveform from a mel spectrogram by Griffin-Lim (1984) phase recovery, in TF ops only.

    mel: [..., F, n_mels] as made by `mel_spectrogram`. Returns [..., (F - 1) * hop] float32 (pre-emphasis,
    if configured, is not undone here; see effects.deemphasis). `sharpen` raises the magnitude to a power
    (Tacotron used 1.5: less smeared to the ear, but further from the mel; 1.0 reproduces the mel).
    """
    magnitude = tf.pow(mel_to_linear(mel, cfg), sharpen)
    magnitude_c = tf.complex(magnitude, tf.zeros_like(magnitude))
    phase = tf.random.stateless_uniform(tf.shape(magnitude), seed=[seed, 0], minval=0.0, maxval=2 * np.pi)
    angles = tf.complex(tf.cos(phase), tf.sin(phase))
    audio = istft(magnitude_c * angles, cfg)

    def iteration(i, audio):
        rebuilt = stft(audio, cfg)  # (F - 1) * hop samples give F frames again
        angles = rebuilt / tf.cast(tf.maximum(tf.abs(rebuilt), 1e-8), tf.complex64)
        return i + 1, istft(magnitude_c * angles, cfg)

    # A graph loop, not a Python one: 32 unrolled iterations made exporting and tracing take minutes.
    _, audio = tf.while_loop(lambda i, _: i < iterations, iteration, (tf.constant(0), audio))
    peak = tf.reduce_max(tf.abs(audio), axis=-1, keepdims=True)
    return audio / tf.maximum(peak, 1e-8) * 0.95
