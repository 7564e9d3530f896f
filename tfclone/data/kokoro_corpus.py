"""`tfclone-make-corpus --source kokoro`: a natural multi-speaker corpus spoken by Kokoro-82M.

Speakers are the 28 English stock voices, then blends of two packs of the same sex, each blend kept only if
it is distinct: the cosine of its Resemblyzer embedding (mean over a few test sentences) to every voice kept
before it stays below `threshold`. The decisions are recorded in `<out_dir>/voice_selection.json` (a re-run
reuses them) and each speaker's recipe (packs, weights, speed) in `speakers.json`. Voices named in
`heldout` are marked `"heldout": true` there; `tfclone-preprocess` puts them in the test split.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile
from tqdm import tqdm

from tfclone.audio import io as audio_io
from tfclone.fileio import atomic_write_text
from tfclone.data import kokoro
from tfclone.data.make_corpus import CorpusError, Job, check_utterance_range, run_jobs, sentence_jobs
from tfclone.data.sentences import sentence_pool
from tfclone.export import shipped
from tfclone.text.normalize import normalize

# Held out of training by default: two US female, two US male, one UK female, one UK male stock voices.
DEFAULT_HELDOUT = ("kokoro-af_river", "kokoro-af_kore", "kokoro-am_eric", "kokoro-am_liam", "kokoro-bf_lily",
                   "kokoro-bm_daniel")
TEST_SENTENCES = ("The old bridge was painted a bright shade of green last summer.",
                  "Could you please bring the heavy boxes up to the second floor?",
                  "Nobody expected the quiet village to become so famous.")
# The decisions of `--speakers 72` at the default threshold and seed, recorded by full runs (60 voices on 2026-12-01,
# extended to 72 on 2026-12-02, when all 400 blend candidates had been tried).
SHIPPED_SELECTION = os.path.join(os.path.dirname(__file__), "kokoro_voices.json")


def _voice_from_recipe(name: str, recipe: Dict) -> kokoro.KokoroVoice:
    return kokoro.KokoroVoice(name, tuple((p, float(w)) for p, w in recipe["packs"]), float(recipe["speed"]))


def voice_embedding(engine: kokoro.Kokoro, embedder, voice: kokoro.KokoroVoice,
                    sentences: Sequence[str] = TEST_SENTENCES) -> np.ndarray:
    """The mean speaker embedding of `voice` over the test sentences (16 kHz, as the encoder expects)."""
    clips = [audio_io.resample(engine.speak(normalize(t), voice), kokoro.KOKORO_RATE, 16000) for t in sentences]
    return np.mean([embedder(c) for c in clips], axis=0)


def is_heldout(voice: kokoro.KokoroVoice, heldout: Sequence[str]) -> bool:
    """Held out by name, or a blend with a held-out stock voice among its packs (which would leak it)."""
    packs = {h[len("kokoro-"):] if h.startswith("kokoro-") else h for h in heldout}
    return voice.name in set(heldout) or any(p in packs for p, _ in voice.packs)


def limit_heldout(jobs: Sequence[Job], heldout_names, first: int, count: int) -> List[Job]:
    """The jobs without those of held-out voices past utterance first + count - 1."""
    if count < 1:
        raise CorpusError(f"heldout_utterances: {count}; at least 1 (the held-out voices' reference clips)")
    return [j for j in jobs if j.voice.name not in heldout_names or j.index < first + count]


def read_selection(path: str) -> Dict:
    """A `voice_selection.json` record, checked: threshold, seed, kept blends with their recipes."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        kept, recipes = record["kept"], record["recipes"]
        float(record["threshold"]), int(record["seed"])
        for name in kept:
            _voice_from_recipe(name, recipes[name])
        record.setdefault("rejected", {})
    except OSError as e:
        raise CorpusError(f"{path}: cannot read the Kokoro voice selection ({e.strerror})") from None
    except (ValueError, KeyError, TypeError, IndexError) as e:
        raise CorpusError(f"{path}: not a Kokoro voice selection record ({type(e).__name__}: {e})") from None
    return record


def choose_voices(num_speakers: int, out_dir: str, pretrained_dir: str, threshold: float = 0.90,
                  seed: int = 0, embedder=None, engine: Optional[kokoro.Kokoro] = None,
                  selection: Optional[str] = SHIPPED_SELECTION) -> List[kokoro.KokoroVoice]:
    """The first `num_speakers` voices: stock voices, then distinct blends (decided once, recorded).

    The decisions are deterministic (seeded candidates, deterministic embeddings), so a record made by an
    earlier run with the same threshold and seed (`selection`; the project ships the 72-voice one) stands in
    for the ~25 minutes of synthesis and embedding they cost. Of that record and the one in `out_dir`, the one
    with more kept blends is continued; a `selection` that cannot be read is an error, not skipped."""
    stock = [kokoro.stock_voice(p) for p in kokoro.STOCK_VOICES]
    if num_speakers <= len(stock):
        return stock[:num_speakers]
    record_path = os.path.join(out_dir, "voice_selection.json")
    record = {"threshold": threshold, "seed": seed, "kept": [], "rejected": {}, "recipes": {}}
    for path in ([record_path] if os.path.isfile(record_path) else []) + ([selection] if selection else []):
        old = read_selection(path)
        if old["threshold"] == threshold and old["seed"] == seed and len(old["kept"]) > len(record["kept"]):
            record = old
    kept = [_voice_from_recipe(n, record["recipes"][n]) for n in record["kept"]]
    if kept and not os.path.isfile(record_path):  # the corpus folder keeps the decisions it was made with
        atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")
    if len(stock) + len(kept) >= num_speakers:
        return (stock + kept)[:num_speakers]
    if embedder is None:
        wheel = os.path.join(pretrained_dir, shipped.RESEMBLYZER_WHEEL)
        if not os.path.isfile(wheel):
            raise CorpusError(f"{wheel}: needed to tell blended voices apart (run scripts/setup.sh)")
        from tfclone.models.resemblyzer import resemblyzer_embedder

        embedder = resemblyzer_embedder(wheel)
    engine = engine or kokoro.Kokoro(pretrained_dir, threads=os.cpu_count() or 1)
    embeddings: Dict[str, np.ndarray] = {}

    def embed(voice):
        if voice.name not in embeddings:
            embeddings[voice.name] = voice_embedding(engine, embedder, voice)
        return embeddings[voice.name]

    kept_names = [v.name for v in stock + kept]
    for v in tqdm(stock + kept, desc="kokoro voices: embedding kept", unit="voice"):
        embed(v)
    candidates = [c for c in kokoro.blend_candidates(400, seed) if c.name not in record["rejected"]
                  and c.name not in kept_names]
    progress = tqdm(total=num_speakers - len(kept_names), desc="kokoro voices: distinct blends", unit="voice")
    for candidate in candidates:
        if len(kept_names) >= num_speakers:
            break
        embed(candidate)
        chosen, nearest = kokoro.select_distinct([candidate.name], embeddings, kept_names, threshold)
        if chosen:
            kept.append(candidate)
            kept_names.append(candidate.name)
            record["kept"].append(candidate.name)
            record["recipes"][candidate.name] = candidate.recipe()
            progress.update(1)
        else:
            record["rejected"][candidate.name] = {"cosine": round(nearest[candidate.name][0], 4),
                                                  "nearest": nearest[candidate.name][1]}
        atomic_write_text(record_path, json.dumps(record, indent=1) + "\n")
    progress.close()
    if len(kept_names) < num_speakers:
        raise CorpusError(f"speakers: only {len(kept_names)} distinct Kokoro voices found at threshold "
                          f"{threshold} (asked for {num_speakers}); raise --kokoro_threshold")
    return (stock + kept)[:num_speakers]


_ENGINE = None


def _init_worker(pretrained_dir: str) -> None:
    global _ENGINE
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _ENGINE = kokoro.Kokoro(pretrained_dir, threads=1)


def _job(job: Job):
    voice, text, wav_path, sample_rate, _ = job
    text_path = os.path.splitext(wav_path)[0] + ".txt"
    if os.path.exists(wav_path) and os.path.exists(text_path):  # resumed run: finished utterances are kept
        with open(text_path, encoding="utf-8") as f:
            same_text = f.read().strip() == text
        info = soundfile.info(wav_path)
        if same_text and info.samplerate == sample_rate:
            return wav_path, info.frames / info.samplerate, None
    try:
        audio = _ENGINE.speak(text, voice)
        audio = audio_io.resample(audio, kokoro.KOKORO_RATE, sample_rate)
        peak = float(np.max(np.abs(audio)))
        if peak > 0.99:  # keep the 16-bit file unclipped
            audio = audio * (0.99 / peak)
        audio_io.check(audio, sample_rate, name=f"{voice.name}: {text!r}")
        audio_io.save(wav_path, audio, sample_rate, subtype="PCM_16")
        atomic_write_text(text_path, text + "\n")
        return wav_path, audio.size / sample_rate, None
    except (kokoro.KokoroError, audio_io.AudioError) as e:
        return wav_path, 0.0, str(e)


def make_kokoro_corpus(out_dir: str, num_speakers: int = 60, utterances_per_speaker: int = 100, seed: int = 0,
                       workers: Optional[int] = None, sample_rate: int = 22050, pretrained_dir: str = "pretrained",
                       threshold: float = 0.90, heldout: Sequence[str] = DEFAULT_HELDOUT,
                       sentences: Optional[Sequence[str]] = None,
                       selection: Optional[str] = SHIPPED_SELECTION, first_utterance: int = 0,
                       heldout_utterances: Optional[int] = None) -> Dict:
    """Writes the corpus (resumable, deterministic); returns {speakers, utterances, failed, seconds}.

    Each voice draws `utterances_per_speaker` sentences (a smaller draw is a prefix of a larger one) and
    speaks those from `first_utterance` on: 80 from 40 are the sentences a corpus of 40 never had.
    `heldout_utterances` N: held-out voices speak only the first N of those (their reference clips for
    `tfclone-score clone`; the synthesizer never trains on them), saving their share of the rendering time."""
    check_utterance_range(utterances_per_speaker, first_utterance)
    kokoro.find_pieces(pretrained_dir)
    kokoro.assemble(pretrained_dir)
    if shutil.which("espeak-ng") is None:
        raise CorpusError("espeak-ng is not installed (Kokoro's phonemes come from it): apt-get install espeak-ng")
    os.makedirs(out_dir, exist_ok=True)
    voices = choose_voices(num_speakers, out_dir, pretrained_dir, threshold, seed, selection=selection)
    jobs = sentence_jobs(voices, sentences or sentence_pool(seed), seed, utterances_per_speaker, first_utterance,
                         out_dir, sample_rate)
    if heldout_utterances is not None:
        jobs = limit_heldout(jobs, {v.name for v in voices if is_heldout(v, heldout)}, first_utterance,
                             heldout_utterances)
    # Utterance-major order: an interrupted run has a little of every voice rather than all of a few.
    jobs.sort(key=lambda j: (j.index, j.voice.name))
    speakers = {v.name: {**v.recipe(), "heldout": is_heldout(v, heldout),
                         "license": "Kokoro-82M weights Apache-2.0; voice packs Apache-2.0 (kokoro-js)"}
                for v in voices}
    with multiprocessing.get_context("spawn").Pool(workers or os.cpu_count() or 1, initializer=_init_worker,
                                                   initargs=(pretrained_dir,)) as pool:
        summary = run_jobs(pool.imap(_job, jobs, chunksize=4), jobs, out_dir, "make-corpus kokoro", speakers)
    return {**summary,
            "heldout": sorted(v.name for v in voices if is_heldout(v, heldout))}
