"""Test set-up: CPU only, quiet TF logs. Tests make all their data themselves."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json  # noqa: E402
import pathlib  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfclone.data.embeddings import write_embeddings
from tfclone.data.make_corpus import make_corpus
from tfclone.data.preprocess import PreprocessOptions, preprocess


def repo_root_path():
    return pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root():
    return repo_root_path()


@pytest.fixture(scope="session")
def local_corpus(tmp_path_factory):
    """12 synthetic speakers x 8 utterances from Debian's synthesizers (a few seconds on 2 cores)."""
    out = tmp_path_factory.mktemp("local_corpus")
    summary = make_corpus(str(out), num_speakers=12, utterances_per_speaker=8, seed=0)
    assert summary["failed"] == [] and summary["utterances"] == 96
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
