"""The speech engine: one worker thread that runs the models for every request, fairly.

Requests become jobs (a voice's embedding, its sentences, a vocoder). The worker builds each model batch
round-robin over the waiting jobs, one sentence from each in turn, so a long text cannot starve a short
one, and sentences of concurrent requests share one batch through the models. A streaming job gives at
most one sentence per batch, so its first sentence comes back after one model call; with `pieces` its first
sentence's audio also comes in growing pieces (Piece items before the sentence's own result: with HiFi-GAN
the first sound after a head of vocoding, Cloner.vocode_pieces). The number of open jobs is bounded: past
it, `submit` raises Busy at once (the server answers 503 with Retry-After).

Results are handed to each job's consumer in sentence order through a thread-safe queue; a consumer that
goes away (a closed connection) cancels its job, and the worker drops it.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from tfclone.inference import Cloner, Synthesis


class Busy(RuntimeError):
    """Too many open jobs; retry after `retry_after` seconds."""

    def __init__(self, open_jobs: int, retry_after: int):
        super().__init__(f"the server is busy ({open_jobs} requests in progress); retry in {retry_after} s")
        self.retry_after = retry_after


_DONE = object()


class Piece(NamedTuple):
    """Part of a sentence's audio, ahead of the sentence's (sentence, Synthesis) result, which holds it all."""
    audio: np.ndarray


@dataclass(eq=False)
class Job:
    embedding: np.ndarray
    sentences: List[Tuple[str, List[int]]]
    vocoder: str
    stream: bool = False
    pieces: bool = False                # stream the first sentence's audio in pieces (Piece items)
    scheduled: int = 0                  # sentences handed to the models so far
    finished_at: List[float] = field(default_factory=list)  # time each sentence's audio was ready
    cancelled: bool = False
    results: "queue.Queue" = field(default_factory=queue.Queue)

    @property
    def total(self) -> int:
        return len(self.sentences)

    def get(self, timeout: Optional[float] = None):
        """The next item in order: a Piece (part of the coming sentence's audio, with `pieces`) or (sentence,
        Synthesis); None after the last; raises the worker's error if any."""
        item = self.results.get(timeout=timeout)
        if item is _DONE:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def cancel(self) -> None:
        self.cancelled = True


class Engine:
    def __init__(self, cloner: Cloner, max_jobs: int = 16, max_batch: int = 8, retry_after: int = 2):
        self.cloner, self.max_jobs, self.max_batch, self.retry_after = cloner, max_jobs, max_batch, retry_after
        self._jobs: Deque[Job] = deque()
        self._wake = threading.Condition()
        self._stopped = False
        self.batches = 0  # model calls made (for /healthz and the load benchmark)
        self._thread = threading.Thread(target=self._work, name="tfclone-speech", daemon=True)
        self._thread.start()

    @property
    def open_jobs(self) -> int:
        return len(self._jobs)

    def submit(self, embedding: np.ndarray, sentences: Sequence[Tuple[str, List[int]]], vocoder: str,
               stream: bool = False, pieces: bool = False) -> Job:
        job = Job(np.asarray(embedding, np.float32), list(sentences), vocoder, stream, pieces and stream)
        with self._wake:
            if self._stopped:
                raise RuntimeError("the speech engine is stopped")
            if len(self._jobs) >= self.max_jobs:
                raise Busy(len(self._jobs), self.retry_after)
            self._jobs.append(job)
            self._wake.notify()
        return job

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)

    def _next_batch(self) -> List[Tuple[Job, int]]:
        """Round-robin over the open jobs of the first job's vocoder; rotates the queue for fairness."""
        with self._wake:
            while not self._stopped:
                for job in [j for j in self._jobs if j.cancelled]:
                    self._jobs.remove(job)
                if self._jobs:
                    break
                self._wake.wait()
            if self._stopped:
                return []
            vocoder = self._jobs[0].vocoder
            batch: List[Tuple[Job, int]] = []
            taken = True
            while len(batch) < self.max_batch and taken:
                taken = False
                for job in self._jobs:
                    if len(batch) >= self.max_batch:
                        break
                    limit = 1 if job.stream else job.total
                    in_batch = sum(1 for j, _ in batch if j is job)
                    if job.vocoder == vocoder and job.scheduled < job.total and in_batch < limit:
                        batch.append((job, job.scheduled))
                        job.scheduled += 1
                        taken = True
            self._jobs.rotate(-1)
            return batch

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return
            vocoder = batch[0][0].vocoder
            piece_rows = [row for row, (job, i) in enumerate(batch) if job.pieces and i == 0]

            def on_piece(row: int, audio: np.ndarray) -> None:
                batch[row][0].results.put(Piece(audio))

            try:
                results: List[Synthesis] = self.cloner.synthesize_rows(
                    np.stack([job.embedding for job, _ in batch]), [job.sentences[i][1] for job, i in batch],
                    vocoder, piece_rows=piece_rows, on_piece=on_piece)
            except Exception as e:  # pylint: disable=broad-except  # handed to each request, which reports it
                with self._wake:
                    for job in {j for j, _ in batch}:
                        job.results.put(e)
                        if job in self._jobs:
                            self._jobs.remove(job)
                continue
            self.batches += 1
            now = time.time()
            with self._wake:
                for (job, i), result in zip(batch, results):
                    job.finished_at.append(now)
                    job.results.put((job.sentences[i][0], result))
                    if len(job.finished_at) == job.total:
                        job.results.put(_DONE)
                        if job in self._jobs:
                            self._jobs.remove(job)
