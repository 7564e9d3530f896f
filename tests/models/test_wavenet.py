"""WaveNet: the fast incremental path is the same model as the convolutional one, folding reassembles
segments exactly, and a short clip overfits."""
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import mulaw
from tfclone.audio.features import mel_spectrogram
from tfclone.audio.synthetic import speech_like
from tfclone.config import experiment_config
from tfclone.losses.wavenet import continuous_nll, mixture_of_logistics_nll, wavenet_loss
from tfclone.models.wavenet import build_wavenet, categorical


def config(overrides=""):
    return experiment_config("vocoder", ["configs/vocoder/tiny.yaml"], overrides)


@pytest.mark.parametrize("overrides", ["", "model.kernel_size=3,model.upsample=repeat",
                                       "model.layers=24,model.dilation_cycle=12,model.residual_channels=64,"
                                       "model.gate_channels=128,model.skip_channels=256"])
def test_incremental_logits_equal_the_convolution_at_every_step(overrides):
    keras.utils.set_random_seed(0)
    cfg = config(overrides)
    model = build_wavenet(cfg.audio, cfg.model)
    wav = speech_like(0.1, seed=1)[:400]  # 400 samples: beyond the tiny receptive field (31 / 61)
    mel = mel_spectrogram(wav, cfg.audio)[None, :2]
    audio = tf.constant(wav[None])
    teacher_forced = model({"audio": audio, "mel": mel}).numpy()
    quantized = mulaw.decode(mulaw.encode(audio, 256), 256)
    previous = tf.pad(quantized[:, :-1], [[0, 0], [1, 0]])
    incremental = tf.function(model.incremental_logits)(previous, model.upsample_condition(mel)).numpy()
    assert teacher_forced.shape == incremental.shape == (1, 400, 256)
    assert np.max(np.abs(teacher_forced - incremental)) < 1e-4
    # the ring-buffer cache, compiled with XLA, is the same model too
    ring = tf.function(lambda p, c: model.incremental_logits(p, c, cache="ring"), jit_compile=True)
    np.testing.assert_allclose(ring(previous, model.upsample_condition(mel)).numpy(), teacher_forced, atol=1e-4)


def test_folding_reassembles_segments():
    keras.utils.set_random_seed(1)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    mel = tf.random.normal([23, 80]) - 5.0
    seed = tf.constant([3, 0])
    fold = tf.function(lambda m, ov: model.generate_folded(m, 23, 5, ov, -11.5, seed=seed))  # graph, not eager
    folded = fold(mel, 0).numpy()
    assert folded.shape == (23 * 200,) and np.all(np.isfinite(folded))
    # Without overlap, folding is exactly the segments generated as one batch, laid end to end.
    padded = tf.concat([mel, tf.fill([2, 80], -11.5)], 0)  # 25 frames = 5 segments of 5
    batch, _ = tf.function(lambda m: model.generate(m, seed=seed))(tf.reshape(padded, [5, 5, 80]))
    np.testing.assert_allclose(folded, tf.reshape(batch, [-1])[:23 * 200].numpy(), atol=1e-6)
    overlapped = fold(mel, 2).numpy()
    assert overlapped.shape == (23 * 200,) and np.all(np.abs(overlapped) <= 1.0 + 1e-6)


@pytest.mark.parametrize("xla", [False, True])
def test_folding_shares_segments_among_loops(xla):
    """With 2 loops, 5 segments are padded to 6 (under XLA to 8: a multiple of 4 per loop, so one compiled
    program serves several lengths) and each loop generates half with its own seed: the result is exactly
    those two batches laid end to end, under XLA (ring caches) as in graph mode."""
    keras.utils.set_random_seed(1)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    mel = tf.random.normal([23, 80]) - 5.0
    seed = tf.constant([3, 0])
    folded = tf.function(lambda m: model.generate_folded(m, 23, 5, 0, -11.5, seed=seed, loops=2, xla=xla))(mel)
    half = 4 if xla else 3
    padded = tf.reshape(tf.concat([mel, tf.fill([10 * half - 23, 80], -11.5)], 0), [2 * half, 5, 80])
    generate = tf.function(lambda m, s: model.generate(m, seed=s, xla=xla)[0])
    halves = [generate(padded[:half], seed), generate(padded[half:], seed + [1, 0])]
    np.testing.assert_allclose(folded.numpy(), tf.reshape(tf.concat(halves, 0), [-1])[:23 * 200].numpy(),
                               atol=1e-6)
    assert np.std(folded.numpy()) > 0 and not np.array_equal(halves[0].numpy(), halves[1].numpy())


def test_batch_shared_among_loops():
    """generate(loops=2): 3 utterances are padded to 4 and each loop generates 2 with its own seed; one
    utterance (fewer than the loops) runs as one plain loop."""
    keras.utils.set_random_seed(1)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    mel = tf.random.normal([3, 4, 80]) - 5.0
    seed = tf.constant([5, 0])
    shared = tf.function(lambda m: model.generate(m, seed=seed, loops=2)[0])
    plain = tf.function(lambda m, s: model.generate(m, seed=s)[0])
    padded = tf.concat([mel, tf.zeros([1, 4, 80])], 0)
    expected = tf.concat([plain(padded[:2], seed), plain(padded[2:], seed + [1, 0])], 0)[:3]
    np.testing.assert_allclose(shared(mel).numpy(), expected.numpy(), atol=1e-6)
    np.testing.assert_allclose(shared(mel[:1]).numpy(), plain(mel[:1], seed).numpy(), atol=1e-6)


def test_generate_masks_past_each_length():
    keras.utils.set_random_seed(2)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    generate = tf.function(lambda m, n: model.generate(m, n, seed=tf.constant([0, 0])))
    audio, lengths = generate(tf.random.normal([2, 4, 80]), tf.constant([4, 2]))
    assert audio.shape == (2, 800) and lengths.numpy().tolist() == [800, 400]
    assert np.all(audio.numpy()[1, 400:] == 0) and np.any(audio.numpy()[1, :400] != 0)


def overfit(overrides, output, seed):
    """(first, last) loss of 150 Adam steps on one 0.2 s clip."""
    keras.utils.set_random_seed(seed)
    cfg = config(overrides)
    model = build_wavenet(cfg.audio, cfg.model)
    wav = speech_like(0.2, seed=4)
    batch = {"audio": tf.constant(wav[None, :3200]), "mel": mel_spectrogram(wav, cfg.audio)[None, :16]}
    optimizer = keras.optimizers.Adam(4e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(wavenet_loss(model(batch, training=True), batch["audio"], output=output))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    first = float(step())
    for _ in range(150):
        last = float(step())
    return first, last


def test_overfits_a_short_clip():
    first, last = overfit("", "mulaw", 3)
    assert last < first / 2.5, (first, last)  # cross entropy from ~ln(256) = 5.5 falls 2.5-fold (measured 0.003)


# ---------------------------------------------------------------------------- mixture of logistics
def numpy_mol_nll(outputs, audio, bits=16):
    """Straight from the definition, in float64: P(bin) = sum_k pi_k [sigmoid((x + h - mu_k) / s_k) -
    sigmoid((x - h - mu_k) / s_k)], with the lowest bin taking (-inf, x + h] and the highest [x - h, inf).
    The difference is taken as (e^b - e^a) / ((1 + e^a)(1 + e^b)) so float64 does not cancel it to 0."""
    outputs = outputs.astype(np.float64)
    k = outputs.shape[-1] // 3
    logits, means, log_scales = outputs[..., :k], outputs[..., k:2 * k], np.maximum(outputs[..., 2 * k:], -14.0)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    levels = 2 ** (bits - 1) - 1
    x = (np.round(np.clip(audio, -1, 1) * levels) / levels)[..., None]
    h = 1.0 / (2 * levels)
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    b, a = (x + h - means) / np.exp(log_scales), (x - h - means) / np.exp(log_scales)
    middle = sigmoid(b) * sigmoid(-a) * -np.expm1(a - b)
    p = np.where(x >= 1.0, sigmoid(-a), np.where(x <= -1.0, sigmoid(b), middle))
    return -np.log((weights * p).sum(-1))


def test_mixture_of_logistics_nll_matches_the_definition():
    rng = np.random.default_rng(0)
    k = 4
    outputs = np.concatenate([rng.normal(size=(3, 50, k)), rng.uniform(-0.9, 0.9, (3, 50, k)),
                              rng.uniform(-6.0, -1.0, (3, 50, k))], axis=-1).astype(np.float32)
    audio = rng.uniform(-1, 1, (3, 50)).astype(np.float32)
    audio[0, :3] = [-1.0, 1.0, 0.0]  # both edge bins and the centre
    audio[1] = outputs[1, :, k] + rng.normal(0, 0.01, 50)  # near component 0's mean: large probabilities
    got = mixture_of_logistics_nll(outputs, audio).numpy()
    want = numpy_mol_nll(outputs, np.clip(audio, -1, 1))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-4)


def test_mixture_of_logistics_sampling_follows_the_mixture():
    cfg = config("model.output=mol,model.mixture_components=2")
    model = build_wavenet(cfg.audio, cfg.model)
    n = 20000
    # component 0 (weight 0.8): logistic(0.3, 0.02); component 1 (0.2): logistic(-0.5, 0.05)
    one = np.array([np.log(0.8), np.log(0.2), 0.3, -0.5, np.log(0.02), np.log(0.05)], np.float32)
    samples = model.sample(tf.constant(np.tile(one, (n, 1))), seed=tf.constant([1, 2])).numpy()
    first = samples > -0.1
    assert abs(first.mean() - 0.8) < 0.015
    assert abs(samples[first].mean() - 0.3) < 0.003 and abs(samples[~first].mean() + 0.5) < 0.006
    assert abs(samples[first].std() - 0.02 * np.pi / np.sqrt(3)) < 0.003  # logistic std = s pi / sqrt(3)
    cold = model.sample(tf.constant(np.tile(one, (n, 1))), temperature=0.1, seed=tf.constant([1, 2])).numpy()
    assert (cold > -0.1).mean() > 0.99 and cold[cold > -0.1].std() < 0.2 * samples[first].std()
    levels = 2 ** 15 - 1
    np.testing.assert_array_equal(np.round(samples * levels) / levels, samples)  # 16-bit values


def test_laplace_and_gaussian_heads_nll_and_sampling():
    from scipy import stats

    rng = np.random.default_rng(3)
    outputs = np.stack([rng.uniform(-0.5, 0.5, (2, 40)), rng.uniform(-6, -1, (2, 40))], axis=-1).astype(np.float32)
    audio = rng.uniform(-1, 1, (2, 40)).astype(np.float32)
    mean, scale = outputs[..., 0], np.exp(outputs[..., 1])
    np.testing.assert_allclose(continuous_nll(outputs, audio, "laplace").numpy(),
                               -stats.laplace.logpdf(audio, mean, scale), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(continuous_nll(outputs, audio, "gaussian").numpy(),
                               -stats.norm.logpdf(audio, mean, scale), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(wavenet_loss(outputs, audio, output="laplace").numpy(),
                               -stats.laplace.logpdf(audio, mean, scale).mean(axis=1), rtol=1e-5)
    n = 40000
    one = np.tile(np.array([[0.2, np.log(0.05)]], np.float32), (n, 1))
    for head, spread in (("laplace", lambda s: np.mean(np.abs(s - 0.2))), ("gaussian", np.std)):
        model = build_wavenet(*(lambda c: (c.audio, c.model))(config(f"model.output={head}")))
        samples = model.sample(tf.constant(one), seed=tf.constant([3, 4])).numpy()
        assert abs(samples.mean() - 0.2) < 0.002 and abs(spread(samples) - 0.05) < 0.002, head  # b, sigma
        cold = model.sample(tf.constant(one), temperature=0.5, seed=tf.constant([3, 4])).numpy()
        assert abs(spread(cold) - 0.025) < 0.001, head
        levels = 2 ** 15 - 1
        np.testing.assert_array_equal(np.round(samples * levels) / levels, samples)  # 16-bit values


@pytest.mark.parametrize("xla", [False, True])
def test_categorical_draws_follow_the_softmax(xla):
    """The generation loop's sampler (inverse CDF, one uniform per row) against the probabilities it is
    given: frequencies within 4 standard errors over 40000 draws, and classes of probability 0 never drawn."""
    probabilities = np.array([0.5, 0.0, 0.3, 0.15, 0.05, 0.0, 0.0], np.float32)
    logits = np.where(probabilities > 0, np.log(np.maximum(probabilities, 1e-30)) + 3.0, -1e4).astype(np.float32)
    n = 40000
    draw = tf.function(categorical, jit_compile=xla)
    ids = draw(tf.constant(np.tile(logits, (n, 1))), tf.constant([5, 7])).numpy()
    counts = np.bincount(ids, minlength=len(probabilities)) / n
    assert np.all(counts[probabilities == 0] == 0)
    np.testing.assert_allclose(counts, probabilities, atol=4 * np.sqrt(0.25 / n))
    # a different seed, different draws; the same seed, the same draws
    assert np.mean(draw(tf.constant(np.tile(logits, (n, 1))), tf.constant([5, 8])).numpy() == ids) < 0.6
    np.testing.assert_array_equal(draw(tf.constant(np.tile(logits, (n, 1))), tf.constant([5, 7])).numpy(), ids)


def test_mulaw_temperature_sharpens_towards_the_most_likely_class():
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    logits = np.random.default_rng(1).normal(0, 1.0, (2000, 256)).astype(np.float32)
    logits[np.arange(2000), logits.argmax(-1)] += 0.05  # a clear winner: at T = 1e-3 the odds are e^-50
    logits = tf.constant(logits)
    cold = model.sample(logits, temperature=1e-3, seed=tf.constant([0, 1])).numpy()
    np.testing.assert_allclose(cold, mulaw.decode(tf.argmax(logits, -1), 256).numpy())
    warm = model.sample(logits, temperature=1.0, seed=tf.constant([0, 1])).numpy()
    assert np.mean(warm == cold) < 0.2


@pytest.mark.parametrize("overrides", ["model.output=mol,model.mixture_components=3", "model.output=laplace",
                                       "model.speaker_conditioning=true,model.speaker_embedding_dim=16"])
def test_incremental_path_equals_the_convolution_for_mol_and_speaker_conditioning(overrides):
    keras.utils.set_random_seed(4)
    cfg = config(overrides)
    model = build_wavenet(cfg.audio, cfg.model)
    wav = speech_like(0.1, seed=2)[:400]
    mel = mel_spectrogram(wav, cfg.audio)[None, :2]
    inputs = {"audio": tf.constant(wav[None]), "mel": mel}
    speaker = None
    if cfg.model.speaker_conditioning:
        speaker = inputs["speaker_embedding"] = tf.random.normal([1, 16])
    teacher_forced = model(inputs).numpy()
    previous = tf.pad(model.quantize_audio(inputs["audio"])[:, :-1], [[0, 0], [1, 0]])
    incremental = tf.function(model.incremental_logits)(previous, model.upsample_condition(mel), speaker).numpy()
    assert teacher_forced.shape == incremental.shape
    assert np.max(np.abs(teacher_forced - incremental)) < 1e-4
    ring = tf.function(lambda p, c: model.incremental_logits(p, c, speaker, cache="ring"), jit_compile=True)
    np.testing.assert_allclose(ring(previous, model.upsample_condition(mel)).numpy(), teacher_forced, atol=1e-4)
    if speaker is not None:  # and the speaker matters
        other = model({**inputs, "speaker_embedding": -speaker}).numpy()
        assert np.max(np.abs(other - teacher_forced)) > 1e-2


def test_mixture_of_logistics_overfits_a_short_clip():
    first, last = overfit("model.output=mol", "mol", 5)
    # NLL per 16-bit sample in nats: a uniform guess is ln(65536) = 11.1; the fit must gain >= 2 nats (measured 2.78).
    assert last < first - 2.0, (first, last)


def test_laplace_head_overfits_a_short_clip():
    first, last = overfit("model.output=laplace", "laplace", 5)
    # Negative log-density: the scale shrinks as the mean follows the clip (measured 0.89 -> -1.42 nats).
    assert last < first - 1.5, (first, last)


def test_tail_silence_fades_out_after_the_last_loud_frame():
    keras.utils.set_random_seed(6)
    cfg = config("model.tail_silence_db=40")
    model = build_wavenet(cfg.audio, cfg.model)
    floor = float(np.log(cfg.audio.log_floor))
    mel = np.full([2, 10, 80], floor, np.float32)
    mel[:, :6] = np.random.default_rng(0).normal(-2.0, 0.5, (2, 6, 80))  # speech, then silence
    mel[1, 7] = -2.0  # a loud frame after a quiet one: the tail starts after it
    # In a graph, as every caller runs it: an eager sample loop would take minutes.
    audio, lengths = tf.function(model.generate)(tf.constant(mel), tf.constant([10, 10]), seed=tf.constant([0, 0]))
    audio = audio.numpy()
    hop = cfg.audio.hop_length
    assert np.all(audio[0, 7 * hop:] == 0) and np.any(audio[0, 6 * hop:7 * hop] != 0)
    assert np.all(audio[1, 9 * hop:] == 0) and np.any(audio[1, 8 * hop:9 * hop] != 0)
    assert np.any(audio[0, :6 * hop] != 0) and lengths.numpy().tolist() == [2000, 2000]
    plain = build_wavenet(cfg.audio, dataclass_replace(cfg.model, tail_silence_db=0.0))
    plain.set_weights(model.get_weights())
    untouched, _ = tf.function(plain.generate)(tf.constant(mel), tf.constant([10, 10]), seed=tf.constant([0, 0]))
    np.testing.assert_array_equal(audio[0, :6 * hop], untouched.numpy()[0, :6 * hop])
    assert np.any(untouched.numpy()[0, 7 * hop:] != 0)  # without it the silence is sampled noise


def dataclass_replace(obj, **changes):
    return dataclasses.replace(obj, **changes)
