"""Test set-up: CPU only, quiet TF logs. Tests make all their data themselves."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import json  # noqa: E402
import pathlib  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402

import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402

from tfclone.data.embeddings import write_embeddings  # noqa: E402
from tfclone.data.make_corpus import make_corpus  # noqa: E402
from tfclone.data.preprocess import PreprocessOptions, preprocess  # noqa: E402


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def made_once(tmp_path_factory, worker_id, name, make):
    """A read-only folder that `make(folder)` fills, made once for all of pytest-xdist's workers: the first
    worker to ask makes it under a file lock in the run's shared temporary folder, the others wait and reuse it."""
    if worker_id == "master":  # not distributed
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / name
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


def make_model_dir(path, model, config, net):
    import tensorflow as tf

    config.save(str(path / "config.yaml"))
    tf.train.Checkpoint(model=net).save(str(path / "ckpt"))
    return path


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, worker_id, repo_root):
    """Tiny, randomly initialised model_dirs for all three models (checkpoint + config.yaml), shared by the workers."""
    names = ("speaker_encoder", "synthesizer", "vocoder")
    root = made_once(tmp_path_factory, worker_id, "model_dirs", lambda folder: make_model_dirs(folder, repo_root))
    return {name: root / name for name in names}


def make_model_dirs(root, repo_root):
    import keras

    from tfclone.config import experiment_config
    from tfclone.models.speaker_encoder import build_speaker_encoder
    from tfclone.models.tacotron2 import build_tacotron2
    from tfclone.models.wavenet import build_wavenet
    from tfclone.text.symbols import SymbolTable

    keras.utils.set_random_seed(11)
    enc = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    syn = experiment_config("synthesizer", [str(repo_root / "configs/synthesizer/tiny.yaml")],
                            "model.max_decoder_steps_per_token=1")
    voc = experiment_config("vocoder", [str(repo_root / "configs/vocoder/tiny.yaml")],
                            "model.fold_segment_frames=8,model.fold_overlap_frames=2")
    for name, config, net in (("speaker_encoder", enc, build_speaker_encoder(enc.audio, enc.model)),
                              ("synthesizer", syn, build_tacotron2(len(SymbolTable()), syn.audio, syn.model)),
                              ("vocoder", voc, build_wavenet(voc.audio, voc.model))):
        (root / name).mkdir()
        make_model_dir(root / name, name, config, net)


@pytest.fixture(scope="session")
def exported(model_dirs, tmp_path_factory, worker_id, repo_root):
    """`tfclone-export --model=all` of the tiny model_dirs (read-only: copy it to change it), shared by the workers."""
    def export(folder):
        result = subprocess.run([sys.executable, "-m", "tools.export", "--model=all",
                                 f"--speaker_encoder_dir={model_dirs['speaker_encoder']}",
                                 f"--synthesizer_dir={model_dirs['synthesizer']}",
                                 f"--vocoder_dir={model_dirs['vocoder']}",
                                 f"--export_dir={folder / 'exported'}", "--noprenet_dropout"],
                                capture_output=True, text=True, cwd=repo_root, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]

    return made_once(tmp_path_factory, worker_id, "exported", export) / "exported"


@pytest.fixture(scope="session")
def reference_wav(tmp_path_factory):
    from tfclone.audio import io
    from tfclone.audio.synthetic import speech_like

    path = tmp_path_factory.mktemp("reference") / "voice.wav"
    io.save(str(path), speech_like(2.5, 16000, seed=5), 16000)
    return path


def manifest(data_dir):
    with open(data_dir / "manifest.jsonl") as f:
        return [json.loads(line) for line in f]

