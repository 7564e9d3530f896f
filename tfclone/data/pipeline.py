"""tf.data input functions, one per model, over the shards written by preprocess.

All three compute features in-graph with tfclone.audio.features (the one implementation), shard across
input pipelines with a tf.distribute.InputContext, use AUTOTUNE, and become fully repeatable with
`config.data.deterministic` (fixed seeds and element order).

Batch layouts:
- speaker encoder: {"mel": [N*M, partial_frames, 40], "speaker_id": [N*M]}, utterances grouped by speaker:
  rows 0..M-1 are speaker 1, M..2M-1 speaker 2, ... (N distinct speakers in each batch; GE2E §2).
- synthesizer: {"token_ids": [B, T], "token_length": [B], "mel": [B, F, 80], "mel_length": [B],
  "stop_target": [B, F], "speaker_embedding": [B, D]}, bucketed by token length, padded.
- vocoder: {"audio": [B, K * hop], "mel": [B, K, 80]}: random K-frame segments, audio aligned to the hop.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import os
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf

from tfclone.audio import features
from tfclone.config import SpeakerEncoderConfig, SynthesizerConfig, VocoderConfig
from tfclone.config.audio import AudioConfig
from tfclone.data import records

AUTOTUNE = tf.data.AUTOTUNE


class DataError(ValueError):
    """The data folder is missing, incomplete, or does not fit the config."""


def _seed(config) -> int:
    # Always an explicit seed: unseeded random datasets cannot be checkpointed (a resumed run continues
    # the data where it stopped). With data.deterministic the element order is fixed as well.
    return config.train.seed


def _options(config) -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = bool(config.data.deterministic)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return options


def _read_json(data_dir: str, name: str):
    path = os.path.join(data_dir, name)
    if not os.path.isfile(path):
        raise DataError(f"{data_dir}: no {name}; run tfclone-preprocess to make this folder")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_rate(data_dir: str, audio: AudioConfig) -> None:
    rate = _read_json(data_dir, "preprocess.json")["sample_rate"]
    if rate != audio.sample_rate:
        raise DataError(f"{data_dir}: audio stored at {rate} Hz, but the config's audio.sample_rate is "
                        f"{audio.sample_rate}; preprocess again with --sample_rate {audio.sample_rate}")


def _manifest(data_dir: str) -> List[Dict]:
    path = os.path.join(data_dir, "manifest.jsonl")
    if not os.path.isfile(path):
        raise DataError(f"{data_dir}: no manifest.jsonl; run tfclone-preprocess to make this folder")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _split_files(data_dir: str, split: str) -> List[str]:
    if split not in records.SPLITS:
        raise DataError(f"split: unknown split {split!r} (known: {', '.join(records.SPLITS)})")
    files = sorted(glob.glob(os.path.join(data_dir, "tfrecords", split, "*.tfrecord")))
    if not files:
        raise DataError(f"{data_dir}: no {split} shards under tfrecords/{split}/")
    return files


@dataclasses.dataclass
class ShardPlan:
    """What a split's input reads: each shard with the number of records to take from it (-1: all), and
    the damaged shards left out or cut short (data.on_corrupt: skip)."""

    paths: List[str]
    takes: List[int]
    problems: list  # verify.ShardProblem

    @property
    def skipped_records(self) -> int:
        return sum(p.skipped_records for p in self.problems)


def plan_shards(data_dir: str, split: str, on_corrupt: str = "fail") -> ShardPlan:
    """`fail`: every shard its sidecar lists, which must all exist (a missing one is a DataError naming it);
    damage inside a shard surfaces while training. `skip`: verified first (cached in verify.json): a
    damaged shard is read up to its first bad record, a missing one left out; both reported."""
    from tfclone.data import verify

    listed = verify.sidecar_shards(data_dir, split)
    files = _split_files(data_dir, split) if not listed else sorted(listed)
    if on_corrupt == "fail":
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise DataError(f"{missing[0]}: shard missing (listed by its sidecar; {len(missing)} missing in all); "
                            f"run tfclone-preprocess --verify {data_dir}, or train with data.on_corrupt=skip")
        return ShardPlan(files, [-1] * len(files), [])
    problems = verify.verify(data_dir, split, progress=False)["problems"]
    damaged = {p.shard: p for p in problems}
    paths, takes = [], []
    for f in files:
        if f not in damaged:
            paths.append(f)
            takes.append(-1)
        elif damaged[f].good_records > 0:
            paths.append(f)
            takes.append(damaged[f].good_records)
    if not paths:
        raise DataError(f"{data_dir}: every {split} shard is damaged (run tfclone-preprocess --verify {data_dir})")
    return ShardPlan(paths, takes, problems)


def _shard_records(plan: ShardPlan) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((plan.paths, tf.constant(plan.takes, tf.int64)))


def _read_shard(path, take):
    return tf.data.TFRecordDataset(path).take(take)


def _per_replica(global_batch: int, input_context: Optional[tf.distribute.InputContext]) -> int:
    if input_context is None:
        return global_batch
    return input_context.get_per_replica_batch_size(global_batch)


def _random_seeds(seed: Optional[int]) -> tf.data.Dataset:
    """An endless stream of [2] int64 seeds for stateless random ops (deterministic for a fixed seed)."""
    return tf.data.Dataset.random(seed=seed).batch(2)


def _random_start(seed: tf.Tensor, maxval: tf.Tensor) -> tf.Tensor:
    """Uniform int in [0, maxval] from a stateless seed."""
    return tf.random.stateless_uniform([], seed=seed, minval=0, maxval=maxval + 1, dtype=tf.int32)


def _sound_audio(example) -> tf.Tensor:
    """False for a record whose audio is empty, shorter than it says, or not finite: such a record is
    dropped, never a NaN in a loss."""
    wav = example[records.AUDIO]
    return tf.logical_and(tf.logical_and(example[records.AUDIO_LENGTH] > 0,
                                         tf.size(wav) == example[records.AUDIO_LENGTH]),
                          tf.reduce_all(tf.math.is_finite(wav)))


# ---------------------------------------------------------------------------------------------- encoder
def speaker_encoder_dataset(config: SpeakerEncoderConfig, data_dir: str, split: str = "train",
                            input_context: Optional[tf.distribute.InputContext] = None,
                            seed_offset: int = 0) -> tf.data.Dataset:
    """Endless batches of N distinct speakers x M utterances, each a random partial_frames-long crop.

    The per-speaker shuffle inside the interleave makes this iterator impossible to checkpoint (tf.data
    cannot serialize a shuffle created inside a function), so a resumed run passes the step it resumes at
    as `seed_offset`: a fresh, reproducible random stream instead of a replay of the first batches.
    """
    audio, data = config.audio, config.data
    _check_rate(data_dir, audio)
    frames = config.model.partial_frames
    min_samples = (frames - 1) * audio.hop_length  # 1 + S // hop >= frames
    n_speakers = _per_replica(data.speakers_per_batch, input_context)
    m = data.utterances_per_speaker
    # Speakers with at least 2 utterances long enough for a crop (others would loop forever below).
    counts: Dict[int, int] = {}
    speakers = _read_json(data_dir, "speakers.json")
    for row in _manifest(data_dir):
        if row["split"] == split and row["duration"] * audio.sample_rate >= min_samples:
            counts[speakers[row["speaker"]]["id"]] = counts.get(speakers[row["speaker"]]["id"], 0) + 1
    eligible = sorted(s for s, c in counts.items() if c >= 2)
    if input_context is not None and input_context.num_input_pipelines > 1:
        eligible = eligible[input_context.input_pipeline_id::input_context.num_input_pipelines]
    if len(eligible) < n_speakers:
        raise DataError(f"{data_dir} ({split}): {len(eligible)} speakers have >= 2 utterances of "
                        f">= {min_samples / audio.sample_rate:.2f} s, but data.speakers_per_batch needs "
                        f"{n_speakers} per replica")
    seed = _seed(config) + seed_offset
    plan = plan_shards(data_dir, split, data.on_corrupt)
    # skip: a damaged shard is left out whole here (the speaker grouping reads shards by file pattern)
    excluded = tf.constant([p.shard for p in plan.problems] or [""], tf.string)
    patterns = [records.speaker_pattern(data_dir, split, s) for s in eligible]
    groups = (tf.data.Dataset.from_tensor_slices(patterns)
              .shuffle(len(patterns), seed=seed, reshuffle_each_iteration=True)
              .batch(n_speakers, drop_remainder=True)  # N distinct speakers per group
              .repeat()
              .unbatch())

    def utterances_of(pattern):
        files = tf.io.matching_files(pattern)
        files = tf.boolean_mask(files, tf.logical_not(tf.reduce_any(tf.equal(files[:, None], excluded[None]), 1)))
        return (tf.data.TFRecordDataset(files)
                .map(records.parse_example)
                .filter(lambda e: e[records.AUDIO_LENGTH] >= min_samples)
                .filter(_sound_audio)
                .shuffle(data.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
                .repeat()
                .take(m))

    # cycle N, block M: M utterances of speaker 1, then M of speaker 2, ... then the next N speakers.
    ds = groups.interleave(utterances_of, cycle_length=n_speakers, block_length=m,
                           num_parallel_calls=AUTOTUNE, deterministic=True)

    def crop(example, rng_seed):
        wav = example[records.AUDIO]
        start = _random_start(rng_seed, (example[records.AUDIO_LENGTH] - min_samples) // audio.hop_length)
        segment = wav[start * audio.hop_length:start * audio.hop_length + min_samples]
        mel = features.mel_spectrogram(segment, audio)  # [frames, n_mels]
        mel = tf.ensure_shape(mel, [frames, audio.n_mels])
        return {"mel": mel, records.SPEAKER_ID: example[records.SPEAKER_ID]}

    ds = tf.data.Dataset.zip((ds, _random_seeds(seed))).map(crop, num_parallel_calls=AUTOTUNE)
    return ds.batch(n_speakers * m, drop_remainder=True).prefetch(AUTOTUNE).with_options(_options(config))


# ------------------------------------------------------------------------------------------ synthesizer
def load_embeddings(data_dir: str, split: str, dim: int) -> np.ndarray:
    path = records.embeddings_path(data_dir, split)
    if not os.path.isfile(path):
        raise DataError(f"{path}: no speaker embeddings for the {split} split; compute them with the "
                        "speaker encoder first (tfclone.data.embeddings.write_embeddings)")
    table = np.load(path)
    rows = _read_json(data_dir, "summary.json")["split_sizes"][split]
    if table.ndim != 2 or table.shape != (rows, dim):
        raise DataError(f"{path}: shape {table.shape}, expected ({rows}, {dim}) for the {split} split")
    return table.astype(np.float32)


def synthesizer_dataset(config: SynthesizerConfig, data_dir: str, split: str = "train",
                        input_context: Optional[tf.distribute.InputContext] = None,
                        repeat: bool = True, seed_offset: int = 0) -> tf.data.Dataset:
    """Batches of (ids, log-mel targets, stop targets, speaker embedding), bucketed by token length.
    `seed_offset` reseeds the shuffles (a resumed run whose iterator could not be checkpointed).
    repeat=False: one pass over the split in file order, unshuffled, the last batch of each bucket kept."""
    audio, data = config.audio, config.data
    _check_rate(data_dir, audio)
    batch = _per_replica(config.train.batch_size, input_context)
    embeddings = tf.constant(load_embeddings(data_dir, split, config.model.speaker_embedding_dim))
    max_samples = (data.max_mel_frames - 1) * audio.hop_length
    files = _shard_records(plan_shards(data_dir, split, data.on_corrupt))
    if input_context is not None:
        files = files.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    seed = _seed(config) + seed_offset
    # One pass (evaluation) reads the files in order: a seeded shuffle still follows the process's global seed
    ds = files.shuffle(1024, seed=seed) if repeat else files
    ds = ds.interleave(_read_shard, cycle_length=4, num_parallel_calls=AUTOTUNE,
                       deterministic=bool(data.deterministic))
    ds = ds.map(records.parse_example, num_parallel_calls=AUTOTUNE)
    ds = ds.filter(lambda e: tf.logical_and(e["token_length"] > 0, e[records.AUDIO_LENGTH] < max_samples))
    ds = ds.filter(_sound_audio)
    if repeat:
        ds = ds.shuffle(data.shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()

    def to_targets(example):
        mel = features.mel_spectrogram(example[records.AUDIO], audio)  # [F, n_mels]
        mel_length = tf.shape(mel)[0]
        return {
            records.TOKEN_IDS: example[records.TOKEN_IDS],
            "token_length": example["token_length"],
            "mel": mel,
            "mel_length": mel_length,
            "stop_target": tf.one_hot(mel_length - 1, mel_length),  # 1 at the last frame
            "speaker_embedding": tf.gather(embeddings, example[records.INDEX]),
        }

    ds = ds.map(to_targets, num_parallel_calls=AUTOTUNE)
    pad_mel = audio.silence
    boundaries = list(data.bucket_boundaries)
    ds = ds.bucket_by_sequence_length(
        lambda e: e["token_length"], bucket_boundaries=boundaries, bucket_batch_sizes=[batch] * (len(boundaries) + 1),
        padded_shapes={records.TOKEN_IDS: [None], "token_length": [], "mel": [None, audio.n_mels],
                       "mel_length": [], "stop_target": [None],
                       "speaker_embedding": [config.model.speaker_embedding_dim]},
        padding_values={records.TOKEN_IDS: 0, "token_length": 0, "mel": pad_mel, "mel_length": 0,
                        "stop_target": 1.0, "speaker_embedding": 0.0},
        drop_remainder=repeat)
    return ds.prefetch(AUTOTUNE).with_options(_options(config))


# ---------------------------------------------------------------------------------------------- vocoder
def vocoder_dataset(config: VocoderConfig, data_dir: str, split: str = "train",
                    input_context: Optional[tf.distribute.InputContext] = None,
                    seed_offset: int = 0) -> tf.data.Dataset:
    """Endless batches of random segments: audio [B, K * hop] with its mel frames [B, K, n_mels].

    Frame t is centred on sample t * hop, so frames s..s+K-1 go with samples [s * hop, (s + K) * hop).
    The mel is computed over the whole utterance, then sliced, so its edges are the ones inference sees.
    With `model.speaker_conditioning`, each segment also carries its utterance's speaker embedding.
    """
    audio, data = config.audio, config.data
    _check_rate(data_dir, audio)
    embeddings = None
    if config.model.speaker_conditioning:
        embeddings = tf.constant(load_embeddings(data_dir, split, config.model.speaker_embedding_dim))
    batch = _per_replica(config.train.batch_size, input_context)
    k = data.segment_frames
    hop = audio.hop_length
    files = _shard_records(plan_shards(data_dir, split, data.on_corrupt))
    if input_context is not None:
        files = files.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    seed = _seed(config) + seed_offset
    ds = files.shuffle(1024, seed=seed).repeat()
    ds = ds.interleave(_read_shard, cycle_length=4, num_parallel_calls=AUTOTUNE,
                       deterministic=bool(data.deterministic))
    ds = ds.map(records.parse_example, num_parallel_calls=AUTOTUNE)
    ds = ds.filter(lambda e: e[records.AUDIO_LENGTH] >= (k + 1) * hop)
    ds = ds.filter(_sound_audio)
    ds = ds.shuffle(data.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    def segment(example, rng_seed):
        wav = example[records.AUDIO]
        mel = features.mel_spectrogram(wav, audio)  # [F, n_mels], F = 1 + S // hop
        start = _random_start(rng_seed, example[records.AUDIO_LENGTH] // hop - k)
        out = {"audio": tf.ensure_shape(wav[start * hop:(start + k) * hop], [k * hop]),
               "mel": tf.ensure_shape(mel[start:start + k], [k, audio.n_mels])}
        if embeddings is not None:
            out["speaker_embedding"] = tf.gather(embeddings, example[records.INDEX])
        return out

    ds = tf.data.Dataset.zip((ds, _random_seeds(seed))).map(segment, num_parallel_calls=AUTOTUNE)
    return ds.batch(batch, drop_remainder=True).prefetch(AUTOTUNE).with_options(_options(config))
