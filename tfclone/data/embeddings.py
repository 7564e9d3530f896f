"""The per-utterance speaker-embedding tables stored beside the shards (SV2TTS: the synthesizer is
conditioned on the encoder's embedding of each training utterance). Row = the record's INDEX."""
from __future__ import annotations

import os
import tempfile

import numpy as np

from tfclone.data import records


def write_embeddings(data_dir: str, split: str, table: np.ndarray) -> str:
    """Writes `table` [rows, dim] (rows = utterances listed in the split) atomically; returns the path."""
    table = np.asarray(table, np.float32)
    if table.ndim != 2 or not np.all(np.isfinite(table)):
        raise ValueError(f"embeddings for {split}: need a finite [rows, dim] array, got shape {table.shape}")
    path = records.embeddings_path(data_dir, split)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, table)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
