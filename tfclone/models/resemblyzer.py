"""Resemblyzer's pretrained GE2E encoder (PyPI `resemblyzer` 0.1.4, Apache-2.0) as a tfclone checkpoint.

`resemblyzer/pretrained.pt` is a legacy (pre-zip) torch pickle: a stream of pickles (magic number, protocol
version, system info, the object with storages referenced by persistent ids, the storage keys) followed by
each storage's raw little-endian data. It is read here with pickle and NumPy alone, no torch.

Architecture (resemblyzer/voice_encoder.py): nn.LSTM(40, 256, 3 layers, batch_first) -> final hidden
state of the last layer -> nn.Linear(256, 256) -> ReLU -> L2 norm. PyTorch's LSTM gate order (i, f, g, o)
is Keras's (i, f, c, o); kernels transpose and the two PyTorch biases add.
"""
from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Dict

import numpy as np

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
           "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_DTYPES[name])


class _Storage:
    def __init__(self, dtype, size):
        self.dtype, self.size, self.data = dtype, size, None


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def resolve(self) -> np.ndarray:
        data = self.storage.data
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * itemsize for s in self.stride])
        return np.array(view)  # a contiguous copy


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, *args):
    return _LazyTensor(storage, offset, size, stride)


def _resolve(obj):
    if isinstance(obj, _LazyTensor):
        return obj.resolve()
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v)) for k, v in obj.items()) if isinstance(obj, collections.OrderedDict) \
            else {k: _resolve(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v) for v in obj)
    return obj


def read_legacy_torch(stream) -> Dict:
    """Reads a legacy torch.save file object; tensors come back as NumPy arrays."""
    storages: Dict[str, _Storage] = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return _rebuild_tensor_v2
            if module == "torch" and name in _DTYPES:
                return _StorageType(name)
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a torch checkpoint")

        def persistent_load(self, pid):
            kind, storage_type, key, _location, size = pid[:5]
            if kind != "storage":
                raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
            if key not in storages:
                storages[key] = _Storage(storage_type.dtype, size)
            return storages[key]

    if pickle.load(stream) != _MAGIC:
        raise ValueError("not a legacy torch checkpoint (bad magic number)")
    pickle.load(stream)  # protocol version
    pickle.load(stream)  # system info
    obj = Unpickler(stream).load()
    for key in pickle.load(stream):
        storage = storages[key]
        (count,) = struct.unpack("<q", stream.read(8))
        storage.data = np.frombuffer(stream.read(count * storage.dtype.itemsize), dtype=storage.dtype.newbyteorder("<"))
    return _resolve(obj)


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
        partial_rate=1.3, min_coverage=0.75, volume_normalize_dbfs=-30.0)).validate()


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
