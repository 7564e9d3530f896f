"""Finding damaged shards: every record's CRC (TensorFlow's TFRecord reader checks it), every record parsed
with the feature spec, its audio non-empty and as long as it says, and the record count held to the shard's
`.json` sidecar; a shard listed by a sidecar but missing on disk is damaged too.

    tfclone-preprocess --verify DATA_DIR        # one line per bad shard, a summary, exit 1 if any

The result is cached in DATA_DIR/verify.json (keyed by each shard's size and modification time), so
training with `data.on_corrupt: skip` re-reads only the shards that changed since, and a re-run of
tfclone-preprocess rewrites the shards found damaged.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import glob
import json
import os
from typing import Dict, List, Optional

from tqdm import tqdm

from tfclone.fileio import atomic_write_text

CACHE = "verify.json"


@dataclasses.dataclass
class ShardProblem:
    shard: str  # path of the .tfrecord file
    problem: str  # "missing" | "corrupted" | "unparsable" | "empty audio" | "count mismatch"
    first_bad: Optional[int]  # index of the first bad record (None: the whole file, e.g. missing)
    good_records: int  # records before the first bad one (all of them for a count mismatch)
    expected: int  # records the sidecar lists
    detail: str = ""

    def line(self) -> str:
        where = f"record {self.first_bad}" if self.first_bad is not None else "whole shard"
        return f"{self.shard}: {self.problem} at {where} ({self.detail})" if self.detail else \
            f"{self.shard}: {self.problem} at {where}"

    @property
    def skipped_records(self) -> int:
        return max(0, self.expected - self.good_records)


def sidecar_shards(data_dir: str, split: Optional[str] = None) -> Dict[str, int]:
    """shard path -> records its sidecar lists, for every sidecar (of one split, or all)."""
    pattern = os.path.join(data_dir, "tfrecords", split or "*", "*.tfrecord.json")
    out = {}
    for side in sorted(glob.glob(pattern)):
        with open(side, encoding="utf-8") as f:
            out[side[: -len(".json")]] = len(json.load(f)["rows"])
    return out


def check_shard(path: str, expected: int) -> Optional[ShardProblem]:
    """None if the shard is whole, else what is wrong with it first."""
    import tensorflow as tf

    from tfclone.data import records

    if not os.path.isfile(path):
        return ShardProblem(path, "missing", None, 0, expected, "listed by its sidecar, not on disk")
    count = 0
    iterator = iter(tf.data.TFRecordDataset(path))
    while True:
        try:
            serialized = next(iterator)
        except StopIteration:
            break
        except tf.errors.DataLossError as e:
            return ShardProblem(path, "corrupted", count, count, expected, e.message.split(";")[0][:120])
        try:
            example = records.parse_example(serialized)
        except (tf.errors.InvalidArgumentError, ValueError) as e:
            return ShardProblem(path, "unparsable", count, count, expected, str(e).splitlines()[0][:120])
        length = int(example[records.AUDIO_LENGTH])
        if length <= 0 or int(tf.size(example[records.AUDIO])) != length:
            return ShardProblem(path, "empty audio", count, count, expected,
                                f"audio_length {length}, {int(tf.size(example[records.AUDIO]))} samples stored")
        count += 1
    if count != expected:
        return ShardProblem(path, "count mismatch", None, min(count, expected), expected,
                            f"holds {count} records, its sidecar lists {expected}")
    return None


def _stamp(path: str):
    try:
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]
    except FileNotFoundError:
        return None


def _load_cache(data_dir: str) -> Dict:
    path = os.path.join(data_dir, CACHE)
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {"shards": {}}


def verify(data_dir: str, split: Optional[str] = None, workers: Optional[int] = None, progress: bool = True,
           use_cache: bool = True) -> Dict:
    """{"shards": n, "records": n, "problems": [ShardProblem, ...]} over every sidecar-listed shard;
    updates DATA_DIR/verify.json."""
    shards = sidecar_shards(data_dir, split)
    if not shards:
        from tfclone.data.pipeline import DataError

        raise DataError(f"{data_dir}: no shards (tfrecords/<split>/*.tfrecord.json); run tfclone-preprocess")
    cache = _load_cache(data_dir) if use_cache else {"shards": {}}
    results: Dict[str, Optional[ShardProblem]] = {}
    todo = []
    for path, expected in shards.items():
        key = os.path.relpath(path, data_dir)
        entry = cache["shards"].get(key)
        if entry and entry["stamp"] == _stamp(path) and entry["expected"] == expected:
            results[path] = ShardProblem(**{**entry["problem"], "shard": path}) if entry["problem"] else None
        else:
            todo.append(path)
    with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count() or 1) as pool:
        futures = {pool.submit(check_shard, p, shards[p]): p for p in todo}
        for future in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="verify",
                           unit="shard", disable=not progress or not todo):
            results[futures[future]] = future.result()
    for path in todo:
        problem = results[path]
        cache["shards"][os.path.relpath(path, data_dir)] = {
            "stamp": _stamp(path), "expected": shards[path],
            "problem": None if problem is None else {k: v for k, v in dataclasses.asdict(problem).items()
                                                     if k != "shard"}}
    atomic_write_text(os.path.join(data_dir, CACHE), json.dumps(cache, indent=1) + "\n")
    problems = sorted((p for p in results.values() if p is not None), key=lambda p: p.shard)
    return {"shards": len(shards), "records": sum(shards.values()), "problems": problems}


def damaged_shards(data_dir: str) -> List[str]:
    """Shards the last verification found damaged (tfclone-preprocess rewrites them)."""
    cache = _load_cache(data_dir)
    return [os.path.join(data_dir, key) for key, entry in cache["shards"].items() if entry.get("problem")]
