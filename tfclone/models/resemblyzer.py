"""Resemblyzer's pretrained GE2E encoder (PyPI `resemblyzer` 0.1.4, Apache-2.0) as a tfclone checkpoint.

`resemblyzer/pretrained.pt` is a legacy (pre-zip) torch pickle, read without torch (tfclone.models.torch_state).

Architecture (resemblyzer/voice_encoder.py): nn.LSTM(40, 256, 3 layers, batch_first) -> final hidden
state of the last layer -> nn.Linear(256, 256) -> ReLU -> L2 norm. PyTorch's LSTM gate order (i, f, g, o)
is Keras's (i, f, c, o); kernels transpose and the two PyTorch biases add.
"""
from __future__ import annotations

import io
import os
import zipfile
from typing import Dict

import numpy as np

from tfclone.models.torch_state import read_legacy_torch

def read_resemblyzer_state(path: str) -> Dict[str, np.ndarray]:
    """`path`: the Resemblyzer wheel (.whl) or its pretrained.pt. Returns the model_state dict."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (get it with: pip download --no-deps resemblyzer==0.1.4)")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            try:
                data = wheel.read("resemblyzer/pretrained.pt")
            except KeyError:
                raise ValueError(f"{path}: has no resemblyzer/pretrained.pt") from None
        checkpoint = read_legacy_torch(io.BytesIO(data))
    else:
        with open(path, "rb") as f:
            checkpoint = read_legacy_torch(f)
    state = checkpoint.get("model_state") if isinstance(checkpoint, dict) else None
    if not state or "linear.weight" not in state:
        raise ValueError(f"{path}: no Resemblyzer model_state in this checkpoint")
    return {k: np.asarray(v) for k, v in state.items()}


def resemblyzer_config():
    """The tfclone config of Resemblyzer's architecture (configs/speaker_encoder/resemblyzer.yaml in code)."""
    from tfclone.config import SpeakerEncoderConfig, SpeakerEncoderModelConfig

    return SpeakerEncoderConfig(model=SpeakerEncoderModelConfig(
        lstm_layers=3, lstm_units=256, lstm_projection=0, embedding_dim=256, final_relu=True,
        partial_rate=1.3, min_coverage=0.75, volume_normalize_dbfs=-30.0, vad_trim=True)).validate()


def load_resemblyzer(path: str):
    """(Keras SpeakerEncoder holding Resemblyzer's weights, its config), built in memory."""
    from tfclone.models.speaker_encoder import build_speaker_encoder

    state = read_resemblyzer_state(path)
    config = resemblyzer_config()
    encoder = build_speaker_encoder(config.audio, config.model)
    for i, lstm in enumerate(encoder.lstms):
        kernel, recurrent, bias = lstm.cell.kernel, lstm.cell.recurrent_kernel, lstm.cell.bias
        kernel.assign(state[f"lstm.weight_ih_l{i}"].T)
        recurrent.assign(state[f"lstm.weight_hh_l{i}"].T)
        bias.assign(state[f"lstm.bias_ih_l{i}"] + state[f"lstm.bias_hh_l{i}"])
    encoder.linear.kernel.assign(state["linear.weight"].T)
    encoder.linear.bias.assign(state["linear.bias"])
    return encoder, config


def resemblyzer_embedder(path: str):
    """A function (16 kHz float audio [S]) -> unit utterance embedding [256] (NumPy), in memory."""
    import tensorflow as tf

    from tfclone.models.speaker_encoder import embed_utterances

    encoder, config = load_resemblyzer(path)

    @tf.function(reduce_retracing=True)
    def embed(audio, length):
        return embed_utterances(encoder, audio, length, config.audio, config.model)

    def run(audio):
        audio = np.asarray(audio, np.float32)[None]
        return embed(tf.constant(audio), tf.constant([audio.shape[1]], tf.int32)).numpy()[0]

    return run


def import_resemblyzer(path: str, model_dir: str) -> str:
    """Writes a tfclone model_dir (config.yaml + checkpoint) holding Resemblyzer's weights; returns the
    checkpoint path. Exports and fine-tunes like any trained encoder."""
    import tensorflow as tf

    encoder, config = load_resemblyzer(path)
    os.makedirs(model_dir, exist_ok=True)
    config.save(os.path.join(model_dir, "config.yaml"))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=encoder), model_dir, max_to_keep=1)
    return manager.save(checkpoint_number=0)
