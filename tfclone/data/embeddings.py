"""The per-utterance speaker-embedding tables stored beside the shards (SV2TTS: the synthesizer is
conditioned on the encoder's embedding of each training utterance). Row = the record's INDEX.

`compute_embeddings` runs an exported speaker encoder (a SavedModel, as TF Serving would) over every
utterance of every split and writes the tables."""
from __future__ import annotations

import glob
import io
import json
import os
from typing import Dict

import numpy as np
from tqdm import tqdm

from tfclone.fileio import atomic_write_bytes
from tfclone.data import records


def write_embeddings(data_dir: str, split: str, table: np.ndarray) -> str:
    """Writes `table` [rows, dim] (rows = utterances listed in the split) atomically; returns the path."""
    table = np.asarray(table, np.float32)
    if table.ndim != 2 or not np.all(np.isfinite(table)):
        raise ValueError(f"embeddings for {split}: need a finite [rows, dim] array, got shape {table.shape}")
    path = records.embeddings_path(data_dir, split)
    buffer = io.BytesIO()
    np.save(buffer, table)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def compute_embeddings(data_dir: str, encoder_export_dir: str, batch_size: int = 16) -> Dict[str, str]:
    """Embeds every utterance of each split with the SavedModel at `encoder_export_dir`; returns the paths.
    Rows of utterances that preprocessing skipped stay zero (no record refers to them)."""
    import tensorflow as tf

    if not os.path.isfile(os.path.join(encoder_export_dir, "saved_model.pb")):
        raise ValueError(f"{encoder_export_dir}: not a SavedModel (export the speaker encoder first)")
    from tfclone.audio.io import resample
    from tfclone.config import experiment_config

    serve = tf.saved_model.load(encoder_export_dir).signatures["serving_default"]
    encoder_rate = experiment_config("speaker_encoder", [os.path.join(encoder_export_dir, "assets", "config.yaml")]
                                     ).audio.sample_rate
    with open(os.path.join(data_dir, "preprocess.json"), encoding="utf-8") as f:
        data_rate = json.load(f)["sample_rate"]
    with open(os.path.join(data_dir, "summary.json"), encoding="utf-8") as f:
        sizes = json.load(f)["split_sizes"]

    def at_encoder_rate(audio, lengths):
        """The batch resampled (soxr) from the corpus rate to the encoder's, when they differ."""
        if data_rate == encoder_rate:
            return audio, lengths
        waves = [resample(a[:n], data_rate, encoder_rate) for a, n in zip(audio.numpy(), lengths.numpy())]
        out = np.zeros([len(waves), max(len(w) for w in waves)], np.float32)
        for i, w in enumerate(waves):
            out[i, :len(w)] = w
        return tf.constant(out), tf.constant([len(w) for w in waves], tf.int32)

    paths = {}
    for split, rows in sizes.items():
        files = sorted(glob.glob(os.path.join(data_dir, "tfrecords", split, "*.tfrecord")))
        if not rows or not files:
            continue
        table = None
        dataset = (tf.data.TFRecordDataset(files).map(records.parse_example)
                   .map(lambda e: {"audio": e[records.AUDIO], "audio_length": e[records.AUDIO_LENGTH],
                                   "index": e[records.INDEX]})
                   .padded_batch(batch_size))
        for batch in tqdm(dataset, desc=f"embed {split}", unit="batch"):
            audio, lengths = at_encoder_rate(batch["audio"], batch["audio_length"])
            embedding = serve(audio=audio, audio_length=lengths)["embedding"].numpy()
            if table is None:
                table = np.zeros([rows, embedding.shape[1]], np.float32)
            table[batch["index"].numpy()] = embedding
        paths[split] = write_embeddings(data_dir, split, table)
    return paths
