"""Corpus -> manifest, splits, speaker map, symbol table and speaker-grouped TFRecord shards.

Audio is decoded, resampled, trimmed and checked in worker processes (no TensorFlow there); the main
process writes each shard through a temporary file renamed into place, then a JSON sidecar listing what the
shard holds and what was skipped. A re-run skips every shard whose sidecar exists, and the manifest and
summary are rebuilt from the sidecars. Unreadable, empty, silent or out-of-range files are skipped and
counted, never fatal.

Splits are fixed by hashing names, so adding files to a corpus never moves an utterance between splits:
`test` holds whole held-out speakers (the encoder's EER and zero-shot cloning are measured on voices never
seen in training); `validation` holds a fraction of the utterances of the training speakers.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import multiprocessing
import os
from typing import Dict, List, Optional, Sequence, Tuple

from tqdm import tqdm

from tfclone.audio import AudioError
from tfclone.audio import effects
from tfclone.audio import io as audio_io
from tfclone.fileio import atomic_path, atomic_write_text
from tfclone.data.corpora import Utterance, read_corpus
from tfclone.text import TextError, normalize, text_to_ids
from tfclone.text.symbols import SymbolTable


@dataclasses.dataclass(frozen=True)
class PreprocessOptions:
    corpus: str
    # One folder, or several of the same layout separated by commas, read as one corpus (a corpus and its
    # extension made with tfclone-make-corpus --first_utterance; utterance ids must not repeat across them)
    corpus_dir: str
    sample_rate: int = 16000
    trim_top_db: float = 40.0  # trim leading/trailing audio this far below the peak; 0 disables
    min_seconds: float = 0.5
    max_seconds: float = 20.0
    test_speakers: int = -1  # held-out speakers; -1: 10% of speakers (at least 1 when there are >= 3)
    # Held-out speakers by name (the test split exactly). A `local` corpus whose speakers.json marks
    # speakers "heldout" (tfclone-make-corpus --source kokoro does) holds those out when this is empty and
    # test_speakers is -1.
    test_speaker_names: Tuple[str, ...] = ()
    validation_fraction: float = 0.05
    utterances_per_shard: int = 256

    def corpus_dirs(self) -> List[str]:
        return [d for d in self.corpus_dir.split(",") if d]

    def check(self) -> None:
        if not self.corpus_dirs():
            raise ValueError("corpus_dir: no folder given")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate: must be > 0 (got {self.sample_rate})")
        if not 0 <= self.min_seconds < self.max_seconds:
            raise ValueError(f"min_seconds/max_seconds: need 0 <= min < max (got {self.min_seconds}, "
                             f"{self.max_seconds})")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction: must be in [0, 1) (got {self.validation_fraction})")
        if self.utterances_per_shard <= 0:
            raise ValueError(f"utterances_per_shard: must be > 0 (got {self.utterances_per_shard})")


def _hash01(name: str) -> float:
    return int(hashlib.md5(name.encode("utf-8")).hexdigest()[:12], 16) / float(16 ** 12)


def assign_splits(utterances: List[Utterance], test_speakers: int = -1,
                  validation_fraction: float = 0.05, test_speaker_names: Sequence[str] = ()) -> Dict[str, str]:
    """utterance_id -> split, stable under additions to the corpus (decided by hashes of names, or by the
    names given in `test_speaker_names`)."""
    speakers = sorted({u.speaker for u in utterances}, key=lambda s: (_hash01("speaker:" + s), s))
    if test_speaker_names:
        unknown = sorted(set(test_speaker_names) - set(speakers))
        if unknown:
            raise ValueError(f"test_speaker_names: {unknown[:5]} are not speakers of this corpus")
        speakers = sorted(test_speaker_names) + [s for s in speakers if s not in set(test_speaker_names)]
        test_speakers = len(set(test_speaker_names))
    if test_speakers < 0:
        test_speakers = max(1, round(0.1 * len(speakers))) if len(speakers) >= 3 else 0
    if test_speakers >= len(speakers) and speakers:
        raise ValueError(f"test_speakers: {test_speakers} held out leaves no training speaker "
                         f"(corpus has {len(speakers)})")
    held_out = set(speakers[:test_speakers])
    splits = {}
    for u in utterances:
        if u.speaker in held_out:
            splits[u.utterance_id] = "test"
        elif _hash01("utterance:" + u.utterance_id) < validation_fraction:
            splits[u.utterance_id] = "validation"
        else:
            splits[u.utterance_id] = "train"
    return splits


def _prepare(args) -> Tuple[str, Optional[dict], Optional[Tuple[str, str]]]:
    """Worker: decode one utterance. Returns (utterance_id, prepared or None, (reason, message) or None)."""
    utt, options = args
    try:
        wav = audio_io.load(utt.path, options.sample_rate)
        if options.trim_top_db > 0:
            wav = effects.trim_silence(wav, options.trim_top_db, frame_length=int(options.sample_rate * 0.05),
                                       hop_length=int(options.sample_rate * 0.0125))
        seconds = wav.size / options.sample_rate
        if seconds < options.min_seconds:
            return utt.utterance_id, None, ("too_short", f"{utt.path}: {seconds:.2f} s < {options.min_seconds} s")
        if seconds > options.max_seconds:
            return utt.utterance_id, None, ("too_long", f"{utt.path}: {seconds:.2f} s > {options.max_seconds} s")
    except AudioError as e:
        return utt.utterance_id, None, (e.reason, str(e))
    text, token_ids, warning = "", [], None
    if utt.text:
        try:
            token_ids = text_to_ids(utt.text)
            text = normalize(utt.text)
        except TextError as e:
            warning = ("text_unspeakable", f"{utt.path}: {e}")
    return utt.utterance_id, {"audio": wav, "text": text, "token_ids": token_ids, "seconds": seconds}, warning


@dataclasses.dataclass
class _Shard:
    split: str
    speaker_id: int
    chunk: int
    utterances: List[Tuple[Utterance, int]]  # (utterance, index in split)


def _plan(utterances: List[Utterance], splits: Dict[str, str], speaker_ids: Dict[str, int],
          per_shard: int) -> List[_Shard]:
    by_split = collections.defaultdict(list)
    for u in utterances:
        by_split[splits[u.utterance_id]].append(u)
    shards = []
    for split in sorted(by_split):
        groups = collections.defaultdict(list)
        for index, u in enumerate(by_split[split]):  # utterances are sorted: index is stable
            groups[speaker_ids[u.speaker]].append((u, index))
        for speaker_id in sorted(groups):
            items = groups[speaker_id]
            for chunk, start in enumerate(range(0, len(items), per_shard)):
                shards.append(_Shard(split, speaker_id, chunk, items[start:start + per_shard]))
    return shards


def _check_options(out_dir: str, options: PreprocessOptions) -> None:
    path = os.path.join(out_dir, "preprocess.json")
    wanted = json.loads(json.dumps(dataclasses.asdict(options)))  # tuples as JSON lists
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            previous = json.load(f)
        # options added since that run count as their defaults
        defaults = json.loads(json.dumps(dataclasses.asdict(PreprocessOptions(options.corpus, options.corpus_dir))))
        previous = {**{k: v for k, v in defaults.items() if k not in previous}, **previous}
        if previous != wanted:
            changed = sorted(k for k in wanted if previous.get(k) != wanted[k])
            raise ValueError(f"{out_dir}: was preprocessed with other options ({', '.join(changed)} differ); "
                             "use a new out_dir or delete this one")
    else:
        atomic_write_text(path, json.dumps(wanted, indent=1) + "\n")


def corpus_heldout_speakers(corpus_dir: str) -> Tuple[str, ...]:
    """Speakers a tfclone-make-corpus corpus marks "heldout" in its speakers.json (none if no such file)."""
    path = os.path.join(corpus_dir, "speakers.json")
    if not os.path.isfile(path):
        return ()
    with open(path, encoding="utf-8") as f:
        speakers = json.load(f)
    return tuple(sorted(name for name, info in speakers.items() if isinstance(info, dict) and info.get("heldout")))


def preprocess(options: PreprocessOptions, out_dir: str, workers: Optional[int] = None) -> Dict:
    """Runs the whole preprocessing; returns the summary (also written to <out_dir>/summary.json)."""
    from tfclone.data import records  # TensorFlow only in the main process

    options.check()
    utterances, seen = [], {}
    for folder in options.corpus_dirs():
        read = read_corpus(options.corpus, folder)
        if not read:
            raise ValueError(f"{folder}: the {options.corpus} corpus lists no utterances")
        for u in read:
            if u.utterance_id in seen:
                where = folder if seen[u.utterance_id] == folder else f"{seen[u.utterance_id]} and {folder}"
                raise ValueError(f"{where}: utterance id {u.utterance_id!r} appears twice")
            seen[u.utterance_id] = folder
        utterances += read
    os.makedirs(out_dir, exist_ok=True)
    _check_options(out_dir, options)
    symbols_path = os.path.join(out_dir, "symbols.txt")
    if os.path.isfile(symbols_path) and SymbolTable.load(symbols_path) != SymbolTable():
        raise ValueError(f"{symbols_path}: differs from this tfclone's symbol table; use a new out_dir")
    SymbolTable().save(symbols_path)

    names = options.test_speaker_names
    if not names and options.test_speakers < 0 and options.corpus == "local":
        names = tuple(sorted({n for folder in options.corpus_dirs() for n in corpus_heldout_speakers(folder)}))
    splits = assign_splits(utterances, options.test_speakers, options.validation_fraction, names)
    speaker_names = sorted({u.speaker for u in utterances})
    speaker_ids = {s: i for i, s in enumerate(speaker_names)}
    shards = _plan(utterances, splits, speaker_ids, options.utterances_per_shard)
    from tfclone.data.verify import damaged_shards

    damaged = set(damaged_shards(out_dir))
    todo = []
    for s in shards:
        path = records.shard_path(out_dir, s.split, s.speaker_id, s.chunk)
        # missing, never finished, or found damaged by tfclone-preprocess --verify: (re)written
        if not os.path.isfile(_sidecar(path)) or not os.path.isfile(path) or path in damaged:
            todo.append(s)
    total = sum(len(s.utterances) for s in todo)
    jobs = ((u, options) for shard in todo for u, _ in shard.utterances)
    workers = workers or os.cpu_count() or 1
    with multiprocessing.get_context("spawn").Pool(workers) as pool, \
            tqdm(total=total, desc="preprocess", unit="utt") as progress:
        results = pool.imap(_prepare, jobs, chunksize=4)
        for shard in todo:
            _write_shard(records, out_dir, options, shard, [next(results) for _ in shard.utterances])
            progress.update(len(shard.utterances))
    return _finish(records, out_dir, options, shards, speaker_names, splits)


def _sidecar(shard_file: str) -> str:
    return shard_file + ".json"


def _write_shard(records, out_dir, options, shard: _Shard, results) -> None:
    import tensorflow as tf

    path = records.shard_path(out_dir, shard.split, shard.speaker_id, shard.chunk)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    rows, skipped, warnings = [], [], []
    with atomic_path(path, suffix=".tfrecord") as tmp, tf.io.TFRecordWriter(tmp) as writer:
        for (utt, index), (utt_id, prepared, problem) in zip(shard.utterances, results):
            assert utt_id == utt.utterance_id
            if prepared is None:
                skipped.append({"utterance_id": utt_id, "reason": problem[0], "message": problem[1]})
                continue
            if problem:
                warnings.append({"utterance_id": utt_id, "reason": problem[0], "message": problem[1]})
            writer.write(records.make_example(
                audio=prepared["audio"], sample_rate=options.sample_rate, speaker=utt.speaker,
                speaker_id=shard.speaker_id, utterance_id=utt_id, text=prepared["text"],
                token_ids=prepared["token_ids"], index=index))
            rows.append({"utterance_id": utt_id, "path": utt.path, "text": prepared["text"],
                         "speaker": utt.speaker, "duration": round(prepared["seconds"], 4),
                         "split": shard.split, "index": index, "num_tokens": len(prepared["token_ids"]),
                         "shard": os.path.relpath(path, out_dir)})
    atomic_write_text(_sidecar(path), json.dumps({"rows": rows, "skipped": skipped, "warnings": warnings}) + "\n")


def _finish(records, out_dir, options, shards, speaker_names, splits) -> Dict:
    rows, skipped, warnings = [], [], []
    for shard in shards:
        with open(_sidecar(records.shard_path(out_dir, shard.split, shard.speaker_id, shard.chunk)),
                  encoding="utf-8") as f:
            side = json.load(f)
        rows += side["rows"]
        skipped += side["skipped"]
        warnings += side["warnings"]
    atomic_write_text(os.path.join(out_dir, "manifest.jsonl"), "".join(json.dumps(r) + "\n" for r in rows))
    split_sizes = collections.Counter(splits.values())
    speakers = {}
    for i, name in enumerate(speaker_names):
        speakers[name] = {"id": i, "utterances": collections.Counter()}
    for r in rows:
        speakers[r["speaker"]]["utterances"][r["split"]] += 1
    for info in speakers.values():
        info["utterances"] = dict(info["utterances"])
    atomic_write_text(os.path.join(out_dir, "speakers.json"), json.dumps(speakers, indent=1) + "\n")
    summary = {
        "corpus": options.corpus,
        "utterances_listed": len(splits),
        "utterances_written": len(rows),
        "skipped": len(skipped),
        "skipped_by_reason": dict(collections.Counter(s["reason"] for s in skipped)),
        "warnings_by_reason": dict(collections.Counter(w["reason"] for w in warnings)),
        "split_sizes": {s: split_sizes.get(s, 0) for s in records.SPLITS},
        "written_by_split": dict(collections.Counter(r["split"] for r in rows)),
        "speakers": len(speaker_names),
        "hours": round(sum(r["duration"] for r in rows) / 3600.0, 4),
        "shards": len(shards),
        "skipped_examples": skipped[:20],
    }
    atomic_write_text(os.path.join(out_dir, "summary.json"), json.dumps(summary, indent=1) + "\n")
    return summary
