import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import io
from tfclone.audio.synthetic import speech_like
from tfclone.config import experiment_config
from tfclone.models.speaker_encoder import build_speaker_encoder
from tfclone.models.tacotron2 import build_tacotron2
from tfclone.models.wavenet import build_wavenet
from tfclone.text.symbols import SymbolTable


def make_model_dir(path, model, config, net):
    config.save(str(path / "config.yaml"))
    tf.train.Checkpoint(model=net).save(str(path / "ckpt"))
    return path


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory, repo_root):
    """Tiny, randomly initialised model_dirs for all three models (checkpoint + config.yaml)."""
    keras.utils.set_random_seed(11)
    root = tmp_path_factory.mktemp("model_dirs")
    enc = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    syn = experiment_config("synthesizer", [str(repo_root / "configs/synthesizer/tiny.yaml")],
                            "model.max_decoder_steps_per_token=2")
    voc = experiment_config("vocoder", [str(repo_root / "configs/vocoder/tiny.yaml")],
                            "model.fold_segment_frames=8,model.fold_overlap_frames=2")
    dirs = {}
    for name, config, net in (("speaker_encoder", enc, build_speaker_encoder(enc.audio, enc.model)),
                              ("synthesizer", syn, build_tacotron2(len(SymbolTable()), syn.audio, syn.model)),
                              ("vocoder", voc, build_wavenet(voc.audio, voc.model))):
        (root / name).mkdir()
        dirs[name] = make_model_dir(root / name, name, config, net)
    return dirs


@pytest.fixture(scope="session")
def exported(model_dirs, tmp_path_factory, repo_root):
    out = tmp_path_factory.mktemp("exported") / "exported"
    result = subprocess.run([sys.executable, "-m", "tools.export", "--model=all",
                             f"--speaker_encoder_dir={model_dirs['speaker_encoder']}",
                             f"--synthesizer_dir={model_dirs['synthesizer']}", f"--vocoder_dir={model_dirs['vocoder']}",
                             f"--export_dir={out}", "--noprenet_dropout"],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def reference_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("reference") / "voice.wav"
    io.save(str(path), speech_like(2.5, 16000, seed=5), 16000)
    return path


def padded(rows):
    lengths = np.array([len(r) for r in rows], np.int32)
    out = np.zeros([len(rows), lengths.max()], np.asarray(rows[0]).dtype)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out, lengths
