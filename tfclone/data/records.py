"""The TFRecord schema of an utterance, its feature keys defined once, and the shard layout.

Every record holds the utterance's audio (16-bit PCM at the corpus rate) and its labels; each model's input
function computes its own features in-graph from the audio with tfclone.audio.features, so one set of
shards serves all three models. Shards are grouped by speaker (one or more files per speaker and split)
so the speaker encoder can draw N distinct speakers x M utterances without scanning the corpus.

    <data_dir>/tfrecords/<split>/spk<speaker_id:05d>-<chunk:03d>.tfrecord
"""
from __future__ import annotations

import os
from typing import Dict

import numpy as np
import tensorflow as tf

# Feature keys: the same names from the record through the model to the SavedModel signature.
AUDIO = "audio"  # bytes: little-endian int16 PCM
AUDIO_LENGTH = "audio_length"  # int64: samples
SAMPLE_RATE = "sample_rate"  # int64
SPEAKER = "speaker"  # bytes: the corpus's speaker name
SPEAKER_ID = "speaker_id"  # int64: row in speakers.json
UTTERANCE_ID = "utterance_id"  # bytes
TEXT = "text"  # bytes: normalized transcript ("" for encoder-only corpora)
TOKEN_IDS = "token_ids"  # int64 list: symbol ids ending in end-of-sequence (empty without text)
INDEX = "index"  # int64: row of this utterance in the split's speaker-embedding table

SPLITS = ("train", "validation", "test")

_FEATURES = {
    AUDIO: tf.io.FixedLenFeature([], tf.string),
    AUDIO_LENGTH: tf.io.FixedLenFeature([], tf.int64),
    SAMPLE_RATE: tf.io.FixedLenFeature([], tf.int64),
    SPEAKER: tf.io.FixedLenFeature([], tf.string),
    SPEAKER_ID: tf.io.FixedLenFeature([], tf.int64),
    UTTERANCE_ID: tf.io.FixedLenFeature([], tf.string),
    TEXT: tf.io.FixedLenFeature([], tf.string, default_value=""),
    TOKEN_IDS: tf.io.VarLenFeature(tf.int64),
    INDEX: tf.io.FixedLenFeature([], tf.int64),
}


def _bytes(value: bytes) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))


def _ints(values) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def make_example(*, audio: np.ndarray, sample_rate: int, speaker: str, speaker_id: int, utterance_id: str,
                 text: str, token_ids, index: int) -> bytes:
    """Serializes one utterance. `audio` is float in [-1, 1] or int16."""
    if audio.dtype != np.int16:
        audio = np.clip(np.round(np.asarray(audio, np.float32) * 32767.0), -32768, 32767).astype(np.int16)
    example = tf.train.Example(features=tf.train.Features(feature={
        AUDIO: _bytes(audio.astype("<i2").tobytes()),
        AUDIO_LENGTH: _ints([audio.size]),
        SAMPLE_RATE: _ints([sample_rate]),
        SPEAKER: _bytes(speaker.encode("utf-8")),
        SPEAKER_ID: _ints([speaker_id]),
        UTTERANCE_ID: _bytes(utterance_id.encode("utf-8")),
        TEXT: _bytes(text.encode("utf-8")),
        TOKEN_IDS: _ints(token_ids),
        INDEX: _ints([index]),
    }))
    return example.SerializeToString()


def parse_example(serialized: tf.Tensor) -> Dict[str, tf.Tensor]:
    """One serialized record -> {audio f32 [S], audio_length i32, speaker_id i32, token_ids i32 [T],
    token_length i32, index i32, sample_rate i32, speaker, utterance_id, text (strings)}."""
    parsed = tf.io.parse_single_example(serialized, _FEATURES)
    pcm = tf.io.decode_raw(parsed[AUDIO], tf.int16, little_endian=True)
    token_ids = tf.cast(tf.sparse.to_dense(parsed[TOKEN_IDS]), tf.int32)
    return {
        AUDIO: tf.cast(pcm, tf.float32) / 32768.0,
        AUDIO_LENGTH: tf.cast(parsed[AUDIO_LENGTH], tf.int32),
        SAMPLE_RATE: tf.cast(parsed[SAMPLE_RATE], tf.int32),
        SPEAKER: parsed[SPEAKER],
        SPEAKER_ID: tf.cast(parsed[SPEAKER_ID], tf.int32),
        UTTERANCE_ID: parsed[UTTERANCE_ID],
        TEXT: parsed[TEXT],
        TOKEN_IDS: token_ids,
        "token_length": tf.shape(token_ids)[0],
        INDEX: tf.cast(parsed[INDEX], tf.int32),
    }


def shard_path(data_dir: str, split: str, speaker_id: int, chunk: int) -> str:
    return os.path.join(data_dir, "tfrecords", split, f"spk{speaker_id:05d}-{chunk:03d}.tfrecord")


def speaker_pattern(data_dir: str, split: str, speaker_id: int) -> str:
    return os.path.join(data_dir, "tfrecords", split, f"spk{speaker_id:05d}-*.tfrecord")


def embeddings_path(data_dir: str, split: str) -> str:
    """Speaker embeddings of each utterance of a split ([rows, dim] float32 .npy, row = INDEX)."""
    return os.path.join(data_dir, "embeddings", f"{split}.npy")
