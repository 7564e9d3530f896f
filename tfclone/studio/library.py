"""The voice library: named reference clips and their embeddings in one SQLite file (stdlib sqlite3, WAL).

A voice is stored once, with its trimmed clip (16-bit WAV at the encoder's rate) and its embedding
(float32), so the embedding is computed once per voice, not once per request. Safe to share between
threads: every call opens its own short-lived connection.
"""
from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Iterator, List, Optional

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS voices (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    added REAL NOT NULL,
    seconds REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    clip BLOB NOT NULL,
    embedding BLOB NOT NULL
)
"""


@dataclass
class Voice:
    id: str
    name: str
    added: float
    seconds: float
    embedding: np.ndarray

    def describe(self) -> dict:
        return {"id": self.id, "object": "voice", "name": self.name, "seconds": round(self.seconds, 3),
                "created_at": int(self.added)}


class DuplicateName(ValueError):
    pass


class VoiceLibrary:
    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction (committed on success, rolled back on error) on its own connection."""
        db = sqlite3.connect(self.path, timeout=30.0)
        try:
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def _voice(row) -> Voice:
        return Voice(row[0], row[1], row[2], row[3], np.frombuffer(row[4], np.float32).copy())

    def add(self, name: str, clip: np.ndarray, sample_rate: int, embedding: np.ndarray) -> Voice:
        """Stores a voice; DuplicateName if `name` is taken. One transaction: all of it or nothing."""
        import soundfile as sf

        buffer = io.BytesIO()
        sf.write(buffer, np.clip(clip, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_16")
        voice = Voice(f"voice_{uuid.uuid4().hex[:12]}", name, time.time(), len(clip) / sample_rate,
                      np.asarray(embedding, np.float32))
        try:
            with self._connect() as db:
                db.execute("INSERT INTO voices VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (voice.id, name, voice.added, voice.seconds, sample_rate, buffer.getvalue(),
                            voice.embedding.tobytes()))
        except sqlite3.IntegrityError:
            raise DuplicateName(f"name {name!r}: a voice of that name exists already") from None
        return voice

    def voices(self) -> List[Voice]:
        with self._connect() as db:
            rows = db.execute("SELECT id, name, added, seconds, embedding FROM voices ORDER BY added").fetchall()
        return [self._voice(r) for r in rows]

    def find(self, key: str) -> Optional[Voice]:
        """A voice by id, else by name; None if neither."""
        with self._connect() as db:
            row = db.execute("SELECT id, name, added, seconds, embedding FROM voices WHERE id = ? OR name = ? "
                             "ORDER BY id = ? DESC LIMIT 1", (key, key, key)).fetchone()
        return self._voice(row) if row else None

    def clip(self, voice_id: str) -> Optional[bytes]:
        """The stored clip as WAV bytes."""
        with self._connect() as db:
            row = db.execute("SELECT clip FROM voices WHERE id = ?", (voice_id,)).fetchone()
        return bytes(row[0]) if row else None

    def delete(self, voice_id: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM voices WHERE id = ?", (voice_id,)).rowcount > 0
