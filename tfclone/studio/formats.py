"""Audio bytes for the speech API, in OpenAI's response formats: whole files and streamed pieces."""
from __future__ import annotations

import io
import struct

import numpy as np

CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "pcm": "audio/pcm"}
STREAMABLE = ("wav", "pcm", "mp3")  # pieces that play when concatenated (a FLAC stream would need one encoder)


def available() -> tuple:
    """The formats this machine's libsndfile can write (mp3 needs libsndfile >= 1.1)."""
    import soundfile as sf

    return tuple(f for f in CONTENT_TYPES if f in ("wav", "pcm") or f.upper() in sf.available_formats())


def pcm16(wav: np.ndarray) -> bytes:
    """Little-endian signed 16-bit samples."""
    return (np.clip(wav, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def encode(wav: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """A whole file (or raw samples for pcm)."""
    import soundfile as sf

    if fmt == "pcm":
        return pcm16(wav)
    buffer = io.BytesIO()
    subtype = {"wav": "PCM_16", "flac": "PCM_16", "mp3": "MPEG_LAYER_III"}[fmt]
    sf.write(buffer, np.clip(wav, -1.0, 1.0).astype(np.float32), sample_rate, format=fmt.upper(), subtype=subtype)
    return buffer.getvalue()


def stream_header(sample_rate: int, fmt: str) -> bytes:
    """What goes before the first streamed piece: a WAV header of unknown length (sizes 0xFFFFFFFF, as
    streaming WAV servers write it; players read to the end), nothing for pcm and mp3."""
    if fmt != "wav":
        return b""
    unknown = 0xFFFFFFFF
    return (b"RIFF" + struct.pack("<I", unknown) + b"WAVE" + b"fmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", unknown))


def stream_piece(wav: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """One sentence's audio as it follows the header: PCM samples for wav and pcm, MP3 frames for mp3."""
    return encode(wav, sample_rate, "mp3") if fmt == "mp3" else pcm16(wav)
