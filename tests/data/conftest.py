import json

import numpy as np
import pytest

from tfclone.data.embeddings import write_embeddings
from tfclone.data.make_corpus import make_corpus
from tfclone.data.preprocess import PreprocessOptions, preprocess


@pytest.fixture(scope="session")
def local_corpus(tmp_path_factory):
    """8 synthetic speakers x 6 utterances from Debian's synthesizers (a few seconds on 2 cores)."""
    out = tmp_path_factory.mktemp("local_corpus")
    summary = make_corpus(str(out), num_speakers=8, utterances_per_speaker=6, seed=0)
    assert summary["failed"] == [] and summary["utterances"] == 48
    return out


@pytest.fixture(scope="session")
def local_shards(local_corpus, tmp_path_factory):
    """The local corpus preprocessed (2 held-out speakers) with random unit speaker embeddings."""
    out = tmp_path_factory.mktemp("local_shards")
    summary = preprocess(PreprocessOptions("local", str(local_corpus), test_speakers=2,
                                           validation_fraction=0.1, utterances_per_shard=4), str(out))
    rng = np.random.default_rng(0)
    for split, rows in summary["split_sizes"].items():
        table = rng.standard_normal((rows, 256))
        write_embeddings(str(out), split, table / np.linalg.norm(table, axis=1, keepdims=True))
    return out


def manifest(data_dir):
    with open(data_dir / "manifest.jsonl") as f:
        return [json.loads(line) for line in f]
