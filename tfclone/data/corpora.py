"""Corpus readers: each turns a corpus folder in its published layout into a sorted list of Utterances.

A folder that does not have the corpus's layout is a CorpusLayoutError that says what was expected.
Readers only list files and read metadata; audio is decoded later, in parallel, by preprocess.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os
from typing import Callable, Dict, List


class CorpusLayoutError(ValueError):
    """The corpus folder is missing or not in the layout the named corpus uses."""


@dataclasses.dataclass(frozen=True)
class Utterance:
    utterance_id: str  # unique within the corpus
    path: str  # absolute path of the audio file
    speaker: str
    text: str = ""  # empty for encoder-only corpora (VoxCeleb)


def _require_dir(root: str, corpus: str) -> None:
    if not os.path.isdir(root):
        raise CorpusLayoutError(f"{corpus} corpus folder {root}: does not exist")


def _layout_error(root: str, corpus: str, expected: str) -> CorpusLayoutError:
    return CorpusLayoutError(f"{root} does not look like {corpus}: expected {expected}")


def read_ljspeech(root: str) -> List[Utterance]:
    """LJSpeech-1.1: metadata.csv ("id|text|normalized text") and wavs/<id>.wav; one speaker."""
    _require_dir(root, "LJSpeech")
    metadata = os.path.join(root, "metadata.csv")
    if not os.path.isfile(metadata):
        raise _layout_error(root, "LJSpeech", "metadata.csv and wavs/")
    out = []
    with open(metadata, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("|")
            if len(parts) < 2:
                continue
            text = parts[2] if len(parts) > 2 and parts[2] else parts[1]
            out.append(Utterance(parts[0], os.path.join(root, "wavs", parts[0] + ".wav"), "ljspeech", text))
    return sorted(out, key=lambda u: u.utterance_id)


def read_librispeech(root: str) -> List[Utterance]:
    """LibriSpeech: <speaker>/<chapter>/<speaker>-<chapter>.trans.txt ("ID TEXT" lines) and ID.flac."""
    _require_dir(root, "LibriSpeech")
    transcripts = sorted(glob.glob(os.path.join(root, "*", "*", "*.trans.txt")))
    if not transcripts:
        raise _layout_error(root, "LibriSpeech", "<speaker>/<chapter>/<speaker>-<chapter>.trans.txt files")
    out = []
    for path in transcripts:
        folder = os.path.dirname(path)
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                utt_id, _, text = line.strip().partition(" ")
                out.append(Utterance(utt_id, os.path.join(folder, utt_id + ".flac"), utt_id.split("-")[0], text))
    return sorted(out, key=lambda u: u.utterance_id)


def read_libritts(root: str) -> List[Utterance]:
    """LibriTTS: <speaker>/<chapter>/<id>.wav with <id>.normalized.txt beside it."""
    _require_dir(root, "LibriTTS")
    texts = sorted(glob.glob(os.path.join(root, "*", "*", "*.normalized.txt")))
    if not texts:
        raise _layout_error(root, "LibriTTS", "<speaker>/<chapter>/<id>.wav with <id>.normalized.txt")
    out = []
    for path in texts:
        utt_id = os.path.basename(path)[: -len(".normalized.txt")]
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
        out.append(Utterance(utt_id, os.path.join(os.path.dirname(path), utt_id + ".wav"), utt_id.split("_")[0], text))
    return sorted(out, key=lambda u: u.utterance_id)


def read_vctk(root: str, mic: str = "mic1") -> List[Utterance]:
    """VCTK: txt/<p>/<p>_<n>.txt with wav48/<p>/<p>_<n>.wav (0.80) or
    wav48_silence_trimmed/<p>/<p>_<n>_<mic>.flac (0.92). Utterances without audio are left out."""
    _require_dir(root, "VCTK")
    texts = sorted(glob.glob(os.path.join(root, "txt", "*", "*.txt")))
    if not texts:
        raise _layout_error(root, "VCTK", "txt/<speaker>/<speaker>_<n>.txt and wav48/ or wav48_silence_trimmed/")
    out = []
    for path in texts:
        utt_id = os.path.basename(path)[:-4]
        speaker = utt_id.split("_")[0]
        candidates = [os.path.join(root, "wav48_silence_trimmed", speaker, f"{utt_id}_{mic}.flac"),
                      os.path.join(root, "wav48", speaker, utt_id + ".wav")]
        audio = next((c for c in candidates if os.path.isfile(c)), None)
        if audio is None:
            continue  # VCTK ships some transcripts without recordings (e.g. p315)
        with open(path, encoding="utf-8") as f:
            out.append(Utterance(utt_id, audio, speaker, f.read().strip()))
    if not out:
        raise _layout_error(root, "VCTK", f"audio beside the transcripts (wav48/ or wav48_silence_trimmed/ {mic})")
    return out


def read_commonvoice(root: str, tsv: str = "validated.tsv") -> List[Utterance]:
    """Common Voice: <tsv> (client_id, path, sentence, ... tab separated) and clips/<path> (mp3)."""
    _require_dir(root, "Common Voice")
    table = os.path.join(root, tsv)
    if not os.path.isfile(table) or not os.path.isdir(os.path.join(root, "clips")):
        raise _layout_error(root, "Common Voice", f"{tsv} and clips/")
    out = []
    with open(table, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = {"client_id", "path", "sentence"} - set(reader.fieldnames or [])
        if missing:
            raise _layout_error(root, "Common Voice", f"{tsv} with columns {sorted(missing)}")
        for row in reader:
            clip = row["path"]
            out.append(Utterance(os.path.splitext(clip)[0], os.path.join(root, "clips", clip),
                                 row["client_id"], row["sentence"]))
    return sorted(out, key=lambda u: u.utterance_id)


def read_voxceleb(root: str) -> List[Utterance]:
    """VoxCeleb 1/2 (encoder only, no text): [wav/|dev/aac/|...]<id>/<video>/<n>.wav (or .m4a converted to
    wav/flac; libsndfile cannot read m4a, so unconverted m4a files are counted as unreadable)."""
    _require_dir(root, "VoxCeleb")
    files = []
    for ext in ("wav", "flac", "m4a"):
        files += glob.glob(os.path.join(root, "**", "id*", "*", f"*.{ext}"), recursive=True)
    if not files:
        raise _layout_error(root, "VoxCeleb", "id<speaker>/<video>/<n>.wav (or .flac/.m4a)")
    out = []
    for path in sorted(files):
        video_dir = os.path.dirname(path)
        speaker = os.path.basename(os.path.dirname(video_dir))
        utt_id = f"{speaker}-{os.path.basename(video_dir)}-{os.path.splitext(os.path.basename(path))[0]}"
        out.append(Utterance(utt_id, path, speaker, ""))
    return out


AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")


def read_folder(root: str) -> List[Utterance]:
    """A generic folder: <speaker>/<name>.<wav|flac|ogg|mp3>, with an optional <name>.txt transcript beside it."""
    _require_dir(root, "folder")
    out = []
    for speaker in sorted(os.listdir(root)):
        folder = os.path.join(root, speaker)
        if not os.path.isdir(folder) or speaker.startswith("."):
            continue
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in AUDIO_EXTENSIONS:
                continue
            text_path = os.path.join(folder, stem + ".txt")
            text = open(text_path, encoding="utf-8").read().strip() if os.path.isfile(text_path) else ""
            out.append(Utterance(f"{speaker}/{stem}", os.path.join(folder, name), speaker, text))
    if not out:
        raise _layout_error(root, "a speaker folder corpus", "<speaker>/<utterance>.wav (flac, ogg, mp3) files")
    return out


def read_local(root: str) -> List[Utterance]:
    """A corpus made by tfclone-make-corpus (synthesized voices or the Asterisk import): manifest.jsonl."""
    _require_dir(root, "local")
    manifest = os.path.join(root, "manifest.jsonl")
    if not os.path.isfile(manifest):
        raise _layout_error(root, "a tfclone-make-corpus corpus", "manifest.jsonl (run tfclone-make-corpus)")
    out = []
    with open(manifest, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(Utterance(os.path.splitext(row["path"])[0], os.path.join(root, row["path"]),
                                     row["speaker"], row.get("text", "")))
            except (ValueError, KeyError) as e:
                raise CorpusLayoutError(f"{manifest}:{n}: not a manifest row ({e})") from None
    return sorted(out, key=lambda u: u.utterance_id)


READERS: Dict[str, Callable[..., List[Utterance]]] = {
    "ljspeech": read_ljspeech,
    "librispeech": read_librispeech,
    "libritts": read_libritts,
    "vctk": read_vctk,
    "commonvoice": read_commonvoice,
    "voxceleb": read_voxceleb,
    "folder": read_folder,
    "local": read_local,
}


def read_corpus(corpus: str, root: str, **options) -> List[Utterance]:
    if corpus not in READERS:
        raise CorpusLayoutError(f"corpus: unknown corpus {corpus!r} (known: {', '.join(READERS)})")
    return READERS[corpus](root, **options)
