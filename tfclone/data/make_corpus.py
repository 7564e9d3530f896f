"""A local multi-speaker corpus with transcripts, spoken by Debian's speech synthesizers.

Speakers are (engine, voice, pitch, tempo) combinations of flite, festival and espeak-ng voices; sox
shifts pitch (with the formants) and tempo and resamples to the corpus rate. The engines are given our
own normalized text, so the transcript says exactly what the audio says. Layout, as any corpus reader
expects: <out_dir>/<speaker>/<speaker>_<nnnn>.wav and .txt, plus manifest.jsonl and speakers.json.
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import tempfile
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from tqdm import tqdm

from tfclone.audio import io as audio_io
from tfclone.fileio import atomic_write_text
from tfclone.data.sentences import asterisk_transcripts, sentence_pool
from tfclone.text.normalize import normalize

FESTIVAL_VOICES = {  # festival voice -> (Debian package, voice folder)
    "kal_diphone": ("festvox-kallpc16k", "/usr/share/festival/voices/english/kal_diphone"),
    "ked_diphone": ("festvox-kdlpc16k", "/usr/share/festival/voices/english/ked_diphone"),
    "cmu_us_slt_arctic_hts": ("festvox-us-slt-hts", "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts"),
}
ENGINE_PACKAGES = {"flite": "flite", "espeak-ng": "espeak-ng", "text2wave": "festival", "sox": "sox"}
ASTERISK_SOUNDS = "/usr/share/asterisk/sounds/en"


class CorpusError(RuntimeError):
    """A tool or package the corpus maker needs is missing, or an input is unusable."""


@dataclasses.dataclass(frozen=True)
class Voice:
    """One synthetic speaker. pitch_cents and tempo are applied by sox (espeak-ng does its own)."""

    name: str
    engine: str  # flite | festival | espeak-ng
    voice: str
    pitch_cents: int = 0
    tempo: float = 1.0
    espeak_pitch: int = 50  # espeak-ng -p (0-99)
    espeak_speed: int = 165  # espeak-ng -s (words per minute)


def default_voices() -> List[Voice]:
    """At least 60 distinct speakers, ordered so that any prefix mixes engines, voices and pitches."""
    by_engine: Dict[str, List[Voice]] = {"flite": [], "festival": [], "espeak-ng": []}
    for voice in ("slt", "awb", "rms", "kal16"):
        for cents, tempo in ((0, 1.0), (-300, 0.95), (300, 1.05), (-550, 1.1), (500, 0.9)):
            by_engine["flite"].append(Voice(f"flite-{voice}-p{cents:+d}-t{tempo:.2f}", "flite", voice, cents, tempo))
    for voice in FESTIVAL_VOICES:
        short = voice.split("_")[0] if "diphone" in voice else "slt_hts"
        for cents, tempo in ((0, 1.0), (-350, 1.05), (350, 0.95), (-600, 0.9)):
            by_engine["festival"].append(
                Voice(f"festival-{short}-p{cents:+d}-t{tempo:.2f}", "festival", voice, cents, tempo))
    accents = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
               "en-gb-x-gbcwmd"]
    variants = ["m1", "f1", "m3", "f2", "m5", "f3", "m7", "f4", "klatt", "m2", "f5", "m4"]
    rng = random.Random(7)
    for i in range(30):
        accent, variant = accents[i % len(accents)], variants[i % len(variants)]
        pitch, speed = rng.randint(20, 80), rng.randint(140, 190)
        by_engine["espeak-ng"].append(Voice(f"espeak-{accent}-{variant}-p{pitch}-s{speed}", "espeak-ng",
                                            f"{accent}+{variant}", espeak_pitch=pitch, espeak_speed=speed))
    ordered, queues = [], [by_engine["espeak-ng"], by_engine["flite"], by_engine["festival"]]
    while any(queues):
        for q in queues:
            if q:
                ordered.append(q.pop(0))
    return ordered


def check_engines(voices: Sequence[Voice]) -> None:
    """Raises CorpusError naming the Debian packages to install if any engine or voice is missing."""
    needed = {"sox"} | {{"flite": "flite", "festival": "text2wave", "espeak-ng": "espeak-ng"}[v.engine]
                        for v in voices}
    missing = sorted({ENGINE_PACKAGES[tool] for tool in needed if shutil.which(tool) is None})
    for v in voices:
        if v.engine == "festival" and not os.path.isdir(FESTIVAL_VOICES[v.voice][1]):
            missing.append(FESTIVAL_VOICES[v.voice][0])
    if missing:
        raise CorpusError("missing Debian packages: " + " ".join(sorted(set(missing))) +
                          " (install with: apt-get install " + " ".join(sorted(set(missing))) +
                          ", or run scripts/setup.sh)")


def _engine_command(voice: Voice, text: str, wav_path: str) -> List[str]:
    if voice.engine == "flite":
        return ["flite", "-voice", voice.voice, "-t", text, "-o", wav_path]
    if voice.engine == "espeak-ng":
        return ["espeak-ng", "-v", voice.voice, "-p", str(voice.espeak_pitch), "-s", str(voice.espeak_speed),
                "-w", wav_path, text]
    if voice.engine == "festival":
        return ["text2wave", "-eval", f"(voice_{voice.voice})", "-o", wav_path]
    raise CorpusError(f"voice {voice.name}: unknown engine {voice.engine!r}")


def synthesize(voice: Voice, text: str, out_path: str, sample_rate: int = 16000) -> float:
    """Speaks `text` with `voice` into `out_path` (16-bit mono wav at `sample_rate`); returns seconds."""
    directory = os.path.dirname(os.path.abspath(out_path))
    with tempfile.TemporaryDirectory(dir=directory, prefix=".tmp-") as tmp:
        raw = os.path.join(tmp, "raw.wav")
        stdin = text if voice.engine == "festival" else None
        result = subprocess.run(_engine_command(voice, text, raw), input=stdin, capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(raw):
            raise CorpusError(f"{voice.engine} failed for voice {voice.name}: {result.stderr.strip()[:200]}")
        effects = []
        if voice.pitch_cents:
            effects += ["pitch", str(voice.pitch_cents)]
        if voice.tempo != 1.0:
            effects += ["tempo", "-s", f"{voice.tempo:.3f}"]
        converted = os.path.join(tmp, "out.wav")
        # -D: no dither, so the corpus is bit-identical for the same seed.
        command = ["sox", "-D", raw, "-b", "16", "-c", "1", converted] + effects + ["rate", "-v", str(sample_rate)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise CorpusError(f"sox failed for voice {voice.name}: {result.stderr.strip()[:200]}")
        wav, rate = audio_io.load_with_rate(converted)
        audio_io.check(wav, rate, name=f"{voice.name}: {text!r}")
        os.replace(converted, out_path)
    return len(wav) / rate


class Job(NamedTuple):
    """One utterance to render: `voice` speaks `text` into `wav_path` at `sample_rate`; `index` is the
    sentence's place in the voice's draw (the path's _NNNN)."""
    voice: Any
    text: str
    wav_path: str
    sample_rate: int
    index: int


def _job(job: Job):
    voice, text, wav_path, sample_rate, _ = job
    if os.path.exists(wav_path):  # resumed run: finished utterances are kept
        wav, rate = audio_io.load_with_rate(wav_path)
        return wav_path, wav.size / rate, None
    try:
        seconds = synthesize(voice, text, wav_path, sample_rate)
        atomic_write_text(os.path.splitext(wav_path)[0] + ".txt", text + "\n")
        return wav_path, seconds, None
    except (CorpusError, audio_io.AudioError) as e:
        return wav_path, 0.0, str(e)


def make_corpus(out_dir: str, num_speakers: int = 40, utterances_per_speaker: int = 100, seed: int = 0,
                workers: Optional[int] = None, voices: Optional[Sequence[Voice]] = None,
                sample_rate: int = 16000, first_utterance: int = 0, pool: str = "prompts") -> Dict:
    """Writes the corpus; returns a summary {speakers, utterances, failed, seconds}. Resumable. Each voice
    draws `utterances_per_speaker` sentences of `sentence_pool(seed, pool=pool)` and speaks those from
    `first_utterance` on."""
    check_utterance_range(utterances_per_speaker, first_utterance)
    voices = list(voices or default_voices())
    if num_speakers > len(voices):
        raise CorpusError(f"num_speakers: {num_speakers} asked for, but only {len(voices)} voices are defined")
    voices = voices[:num_speakers]
    check_engines(voices)
    jobs = sentence_jobs(voices, sentence_pool(seed, pool=pool), seed, utterances_per_speaker, first_utterance,
                         out_dir, sample_rate)
    with multiprocessing.get_context("spawn").Pool(workers or os.cpu_count() or 1) as processes:
        return run_jobs(processes.imap_unordered(_job, jobs, chunksize=8), jobs, out_dir, "make-corpus",
                        {v.name: dataclasses.asdict(v) for v in voices})


def check_utterance_range(utterances_per_speaker: int, first_utterance: int) -> None:
    if not 0 <= first_utterance < utterances_per_speaker:
        raise CorpusError(f"first_utterance: {first_utterance} is outside the {utterances_per_speaker} "
                          f"sentences drawn per voice (0..{utterances_per_speaker - 1})")


def drawn_sentences(pool: Sequence[str], seed: str, utterances: int, first: int = 0) -> List[Tuple[int, str]]:
    """[(index, sentence)] of one voice: `utterances` distinct sentences drawn from `pool` by `seed`, from
    index `first` on. A smaller draw is a prefix of a larger one (random.sample), so a corpus can grow."""
    return list(enumerate(random.Random(seed).sample(list(pool), utterances)))[first:]


def sentence_jobs(voices: Sequence, sentences: Sequence[str], seed: int, utterances: int, first: int, out_dir: str,
                  sample_rate: int) -> List[Job]:
    """The jobs of a corpus: each voice's draw of `utterances` normalized
    sentences (by `drawn_sentences`) from index `first` on, into `out_dir/<voice>/<voice>_NNNN.wav`."""
    pool = [normalize(s) for s in sentences]
    if utterances > len(pool):
        raise CorpusError(f"utterances_per_speaker: at most {len(pool)} distinct sentences available")
    jobs = []
    for voice in voices:
        os.makedirs(os.path.join(out_dir, voice.name), exist_ok=True)
        for n, text in drawn_sentences(pool, f"{seed}-{voice.name}", utterances, first):
            wav_path = os.path.join(out_dir, voice.name, f"{voice.name}_{n:04d}.wav")
            jobs.append(Job(voice, text, wav_path, sample_rate, n))
    return jobs


def run_jobs(results_iter, jobs, out_dir: str, desc: str, speakers: Dict) -> Dict:
    """Collects (wav path, seconds, error) results of `Job`s with a progress bar,
    writes the manifest and speakers.json; returns {speakers, utterances, failed, seconds}."""
    results, failed = {}, []
    for wav_path, seconds, error in tqdm(results_iter, total=len(jobs), desc=desc, unit="utt"):
        if error:
            failed.append(error)
        else:
            results[wav_path] = seconds
    rows = [{"path": os.path.relpath(j.wav_path, out_dir), "text": j.text, "speaker": j.voice.name,
             "duration": round(results[j.wav_path], 4)} for j in jobs if j.wav_path in results]
    _write_manifest(out_dir, rows, speakers)
    return {"speakers": len({r["speaker"] for r in rows}), "utterances": len(rows), "failed": failed,
            "seconds": sum(r["duration"] for r in rows)}


def _write_manifest(out_dir: str, rows: List[Dict], speakers: Dict) -> None:
    """Writes manifest.jsonl and speakers.json; rows and speakers of other sources already in `out_dir`
    are kept, so sources can be mixed in one corpus (the speakers written now replace their old rows)."""
    manifest, speakers_path = os.path.join(out_dir, "manifest.jsonl"), os.path.join(out_dir, "speakers.json")
    old_rows, old_speakers = [], {}
    if os.path.isfile(manifest) and os.path.isfile(speakers_path):
        with open(manifest, encoding="utf-8") as f:
            old_rows = [json.loads(line) for line in f if line.strip()]
        with open(speakers_path, encoding="utf-8") as f:
            old_speakers = json.load(f)
    rows = [r for r in old_rows if r["speaker"] not in speakers] + list(rows)
    speakers = {**{k: v for k, v in old_speakers.items() if k not in speakers}, **speakers}
    atomic_write_text(manifest, "".join(json.dumps(r) + "\n" for r in rows))
    atomic_write_text(speakers_path, json.dumps(speakers, indent=1) + "\n")


def import_asterisk(out_dir: str, sounds_dir: str = ASTERISK_SOUNDS, transcripts: Optional[str] = None,
                    limit: Optional[int] = None, sample_rate: int = 16000) -> Dict:
    """The real single-speaker corpus: Asterisk's English prompts (Allison Smith, CC-BY-SA-3.0), decoded
    from G.722 (PyPI G722) to 16 kHz wavs, with their transcripts, in the local corpus layout."""
    import G722
    import numpy as np

    if not os.path.isdir(sounds_dir):
        raise CorpusError(f"{sounds_dir}: not found; install Debian's asterisk-core-sounds-en-g722")
    prompts = asterisk_transcripts(transcripts) if transcripts else asterisk_transcripts()
    speaker = "asterisk-allison"
    os.makedirs(os.path.join(out_dir, speaker), exist_ok=True)
    rows, missing = [], []
    for name, text in tqdm(sorted(prompts.items())[:limit], desc="asterisk", unit="utt"):
        source = os.path.join(sounds_dir, name + ".g722")
        if not os.path.isfile(source):
            missing.append(name)
            continue
        with open(source, "rb") as f:
            pcm = np.asarray(G722.G722(16000, 64000).decode(f.read()), dtype=np.float32) / 32768.0
        if sample_rate != 16000:
            pcm = audio_io.resample(pcm, 16000, sample_rate)
        wav_name = name.replace("/", "_") + ".wav"
        audio_io.save(os.path.join(out_dir, speaker, wav_name), pcm, sample_rate, subtype="PCM_16")
        spoken = normalize(text)
        atomic_write_text(os.path.join(out_dir, speaker, wav_name[:-4] + ".txt"), spoken + "\n")
        rows.append({"path": os.path.join(speaker, wav_name), "text": spoken, "speaker": speaker,
                     "duration": round(len(pcm) / float(sample_rate), 4)})
    _write_manifest(out_dir, rows, {speaker: {"source": "Debian asterisk-core-sounds-en(-g722)",
                                              "recorded_by": "Allison Smith", "license": "CC-BY-SA-3.0"}})
    return {"speakers": 1, "utterances": len(rows), "missing": missing,
            "seconds": sum(r["duration"] for r in rows)}
