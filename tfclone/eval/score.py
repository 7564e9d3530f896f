"""`tfclone-score`: every item (an output waveform, the text it should say, optionally the voice clip it
imitates and the original recording of the same text) scored by the judges of tfclone.eval.judges, written
as DIR/scores.jsonl, DIR/summary.json and DIR/index.html (audio players, spectrograms, the ASR hypothesis
with its errors marked, the figures; a summary table per system on top).

Items carry a `system` (e.g. "hifigan", "griffin_lim", "ground truth"): the summary and the page compare
systems side by side. A failed item (unreadable audio) is reported and skipped; the others go on.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import shutil
from typing import Dict, List, Optional, Sequence

import numpy as np
from tqdm import tqdm

from tfclone.fileio import atomic_write_text
from tfclone.eval import asr, judges
from tfclone.eval.asr import JudgeUnavailable

FIGURES = ("wer", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "similarity_resemblyzer", "similarity_campplus", "pesq",
           "stoi", "mcd", "seconds")


@dataclasses.dataclass
class Item:
    audio: str
    text: str = ""
    reference: Optional[str] = None
    truth: Optional[str] = None
    system: str = "output"
    name: str = ""


def read_manifest(path: str) -> List[Item]:
    """JSON lines {"audio", "text", "reference"?, "truth"?, "system"?}; relative paths are relative to the
    manifest's folder. ValueError naming the line for a malformed one."""
    folder = os.path.dirname(os.path.abspath(path))
    items = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or "audio" not in row:
                    raise ValueError("needs an \"audio\" field")
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not a manifest line ({e})") from None

            def resolve(p):
                return p if p is None or os.path.isabs(p) else os.path.join(folder, p)

            items.append(Item(resolve(row["audio"]), row.get("text", ""), resolve(row.get("reference")),
                              resolve(row.get("truth")), row.get("system", "output"), row.get("name", "")))
    return items


def _load(path: str):
    from tfclone.audio import io

    wav, rate = io.load_with_rate(path)
    io.check(wav, rate, name=path)
    return wav, rate


class Scorer:
    """Runs the judges that are available; remembers which are absent and why."""

    def __init__(self, whisper_model: str = "base", resemblyzer_wheel: str = judges.RESEMBLYZER_WHEEL,
                 skip: Sequence[str] = (), campplus_wheel: str = judges.CAMPPLUS_WHEEL):
        self.whisper_model = whisper_model
        self.wheels = {"resemblyzer": resemblyzer_wheel, "campplus": campplus_wheel}
        self.absent = {k: v for k, v in judges.availability(judges.JUDGES, whisper_model, resemblyzer_wheel,
                                                            campplus_wheel).items() if v}
        for judge in skip:
            self.absent[judge] = "skipped by request"
        self._embeddings: Dict[tuple, np.ndarray] = {}

    def runs(self, judge: str) -> bool:
        return judge not in self.absent

    def embedding(self, path: str, wav=None, rate=None, judge: str = "resemblyzer") -> np.ndarray:
        """The unit speaker embedding of a file by a speaker judge (resemblyzer or campplus), cached per file."""
        if (judge, path) not in self._embeddings:
            if wav is None:
                wav, rate = _load(path)
            embed = judges.speaker_embedder(judge, self.wheels[judge])
            self._embeddings[(judge, path)] = embed(judges.to_16k(wav, rate))
        return self._embeddings[(judge, path)]

    def score(self, item: Item) -> Dict:
        wav, rate = _load(item.audio)
        row: Dict = {"audio": item.audio, "system": item.system, "name": item.name or os.path.basename(item.audio),
                     "text": item.text, "reference": item.reference, "truth": item.truth,
                     "seconds": round(len(wav) / rate, 3)}
        if item.text and self.runs("asr"):
            hypothesis = asr.transcribe(wav, rate, self.whisper_model)
            errors = asr.word_errors(item.text, hypothesis)
            row.update(hypothesis=hypothesis, wer=errors["wer"], word_alignment=errors["alignment"])
        if self.runs("dnsmos"):
            mos = judges.dnsmos(wav, rate)
            row.update(dnsmos_sig=mos["sig"], dnsmos_bak=mos["bak"], dnsmos_ovrl=mos["ovrl"])
        for judge in judges.SPEAKER_JUDGES:
            if item.reference and self.runs(judge):
                row[f"similarity_{judge}"] = float(self.embedding(item.audio, wav, rate, judge)
                                                   @ self.embedding(item.reference, judge=judge))
        if item.truth:
            truth, truth_rate = _load(item.truth)
            if truth_rate != rate:
                from tfclone.audio.io import resample

                truth = resample(truth, truth_rate, rate)
            for judge, fn in (("pesq", judges.pesq_wb), ("stoi", judges.stoi), ("mcd", judges.mcd)):
                if self.runs(judge):
                    row[judge] = fn(wav, truth, rate)
        return row


def sv_eer(rows: List[Dict], embedding) -> Optional[Dict]:
    """SV2TTS Table 4: every output scored against every reference voice (cosine); same-voice pairs are
    targets. Returns {"eer", "pairs", "nearest_own_reference"} or None with fewer than two voices."""
    from tfclone.eval.speaker_verification import equal_error_rate

    rows = [r for r in rows if r.get("reference")]
    voices = sorted({r["reference"] for r in rows})
    if len(voices) < 2:
        return None
    refs = np.stack([embedding(v) for v in voices])
    scores, labels, nearest = [], [], []
    for r in rows:
        sims = refs @ embedding(r["audio"])
        own = voices.index(r["reference"])
        scores.extend(sims.tolist())
        labels.extend([i == own for i in range(len(voices))])
        nearest.append(int(np.argmax(sims)) == own)
    return {"eer": float(equal_error_rate(np.array(scores), np.array(labels))), "pairs": len(scores),
            "nearest_own_reference": float(np.mean(nearest))}


def summarize(rows: List[Dict], failed: List[Dict], scorer: Scorer) -> Dict:
    systems = {}
    for system in dict.fromkeys(r["system"] for r in rows):
        mine = [r for r in rows if r["system"] == system]
        figures = {}
        for key in FIGURES:
            values = [r[key] for r in mine if r.get(key) is not None]
            if values:
                figures[key] = {"mean": float(np.mean(values)), "median": float(np.median(values)), "n": len(values)}
        entry = {"items": len(mine), "figures": figures}
        for judge in judges.SPEAKER_JUDGES:
            if scorer.runs(judge):
                eer = sv_eer(mine, functools.partial(scorer.embedding, judge=judge))
                if eer:
                    entry[f"sv_eer_{judge}"] = eer
        systems[system] = entry
    return {"systems": systems, "items": len(rows), "failed": failed,
            "judges": {j: ("ran" if scorer.runs(j) else f"absent: {scorer.absent[j]}") for j in judges.JUDGES},
            "whisper_model": scorer.whisper_model}


def score_items(items: Sequence[Item], out_dir: str, scorer: Optional[Scorer] = None, html: bool = True) -> Dict:
    """Scores every item; writes scores.jsonl, summary.json and index.html under out_dir; returns the summary."""
    from tfclone.eval import report

    scorer = scorer or Scorer()
    os.makedirs(out_dir, exist_ok=True)
    rows, failed = [], []
    for item in tqdm(items, desc="score", unit="item"):
        try:
            rows.append(scorer.score(item))
        except (OSError, ValueError, RuntimeError) as e:
            if isinstance(e, JudgeUnavailable):
                raise
            failed.append({"audio": item.audio, "error": str(e)})
    summary = summarize(rows, failed, scorer)
    atomic_write_text(os.path.join(out_dir, "scores.jsonl"),
                      "".join(json.dumps({k: v for k, v in r.items() if k != "word_alignment"}) + "\n" for r in rows))
    atomic_write_text(os.path.join(out_dir, "summary.json"), json.dumps(summary, indent=1) + "\n")
    if html:
        report.write_report(rows, summary, out_dir)
    return summary


def copy_into(path: str, folder: str, name: str) -> str:
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, name)
    shutil.copyfile(path, target)
    return target


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def clips_in(folder: str) -> List[Item]:
    """The audio files of a folder with the transcript of each (<name>.txt beside it, if there is one)."""
    if not os.path.isdir(folder):
        raise ValueError(f"{folder}: no such folder")
    items = []
    for name in sorted(os.listdir(folder)):
        stem, ext = os.path.splitext(name)
        if ext.lower() in AUDIO_EXTENSIONS:
            text_path = os.path.join(folder, stem + ".txt")
            text = open(text_path, encoding="utf-8").read().strip() if os.path.isfile(text_path) else ""
            items.append(Item(os.path.join(folder, name), text, system="ground truth", name=stem))
    if not items:
        raise ValueError(f"{folder}: no audio files ({', '.join(AUDIO_EXTENSIONS)})")
    return items


def _save(path: str, wav, rate: int) -> str:
    from tfclone.audio import io

    os.makedirs(os.path.dirname(path), exist_ok=True)
    io.save(path, np.clip(np.asarray(wav, np.float32), -1.0, 1.0), rate, subtype="PCM_16")
    return path


def vocoder_items(vocoders: Sequence[str], audio_dir: str, out_dir: str, griffin_lim_iterations: int = 32
                  ) -> List[Item]:
    """Copy-synthesis of every clip by every vocoder SavedModel (its `resynthesize` signature) and, from the
    same mel, by Griffin-Lim; the clips themselves as the ground-truth rows. Outputs go to out_dir/wavs/."""
    import tensorflow as tf

    from tfclone.audio import features
    from tfclone.audio import io
    from tfclone.config import AudioConfig
    from tfclone.config.base import yaml_load

    clips = clips_in(audio_dir)
    items = list(clips)
    used = set()
    for path in vocoders:
        config_file = os.path.join(path, "assets", "config.yaml")
        if not os.path.isfile(config_file):
            raise ValueError(f"--vocoder {path}: not a tfclone vocoder export (no assets/config.yaml)")
        with open(config_file, encoding="utf-8") as f:
            saved = yaml_load(f.read()) or {}
        audio_cfg = AudioConfig.from_dict(saved.get("audio", {})).validate()
        loaded = tf.saved_model.load(path)
        if "resynthesize" not in loaded.signatures:
            raise ValueError(f"--vocoder {path}: has no resynthesize signature (re-export it)")
        # The model's folder name, with its arithmetic when not float32; a name given twice (two exports of one
        # model) also gets the export's path, so that each system has its own wavs and rows.
        system = os.path.basename(os.path.dirname(os.path.abspath(path))) or os.path.basename(path)
        if (saved.get("model") or {}).get("compute_dtype", "float32") != "float32":
            system += f" {saved['model']['compute_dtype']}"
        if system in used:
            system += f" ({path})"
        used.add(system)
        rate = audio_cfg.sample_rate
        for clip in tqdm(clips, desc=f"copy-synthesis {system}", unit="clip"):
            wav = io.load(clip.audio, rate)
            truth = _save(os.path.join(out_dir, "wavs", f"truth-{rate}", clip.name + ".wav"), wav, rate)
            out = loaded.signatures["resynthesize"](audio=tf.constant(wav[None]),
                                                     audio_length=tf.constant([len(wav)], tf.int32))
            audio = out["audio"].numpy()[0, :int(out["audio_length"].numpy()[0])]
            items.append(Item(_save(os.path.join(out_dir, "wavs", _folder(system), clip.name + ".wav"), audio, rate),
                              clip.text, clip.audio, truth, system, clip.name))
            gl_system = f"griffin_lim ({system} mel)"
            mel = features.mel_spectrogram(wav[None], audio_cfg)
            gl = features.griffin_lim(mel, audio_cfg, iterations=griffin_lim_iterations).numpy()[0]
            items.append(Item(_save(os.path.join(out_dir, "wavs", _folder(gl_system), clip.name + ".wav"), gl, rate),
                              clip.text, clip.audio, truth, gl_system, clip.name))
    return items


def _folder(system: str) -> str:
    """A system's name as one folder name: 'griffin_lim (hifigan mel)' -> 'griffin_lim_hifigan_mel'."""
    return system.replace(" ", "_").replace("(", "").replace(")", "").replace("/", "_").strip("_")


def clone_items(models: str, voices_dir: str, sentences_file: str, out_dir: str, vocoder: Optional[str] = None,
                max_sentences: Optional[int] = None) -> List[Item]:
    """Every voice clip of voices_dir saying every sentence of sentences_file (through Cloner), written to
    out_dir/wavs/<voice>/NN.wav; plus the voice clips themselves as ground-truth rows where a transcript
    sits beside them."""
    from tfclone.inference import Cloner

    with open(sentences_file, encoding="utf-8") as f:
        sentences = [line.strip() for line in f if line.strip()][:max_sentences]
    if not sentences:
        raise ValueError(f"{sentences_file}: no sentences")
    voices = clips_in(voices_dir)
    cloner = Cloner(models, vocoder=vocoder)
    system = f"clone ({cloner.vocoder})"
    items = [v for v in voices if v.text]
    for voice in tqdm(voices, desc="clone voices", unit="voice"):
        embedding = cloner.embed(voice.audio)
        for n, sentence in enumerate(sentences):
            pieces = cloner.sentences(sentence)
            audio = cloner.join(cloner.synthesize(embedding, [ids for _, ids in pieces]))
            path = _save(os.path.join(out_dir, "wavs", voice.name, f"{n:02d}.wav"), audio, cloner.sample_rate)
            items.append(Item(path, sentence, voice.audio, None, system, f"{voice.name}/{n:02d}"))
    return items

