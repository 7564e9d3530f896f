"""WaveNet: the fast incremental path is the same model as the convolutional one, folding reassembles
segments exactly, and a short clip overfits."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import mulaw
from tfclone.audio.features import mel_spectrogram
from tfclone.audio.synthetic import speech_like
from tfclone.config import experiment_config
from tfclone.models.wavenet import build_wavenet, wavenet_loss


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
    incremental = model.incremental_logits(previous, model.upsample_condition(mel)).numpy()
    assert teacher_forced.shape == incremental.shape == (1, 400, 256)
    assert np.max(np.abs(teacher_forced - incremental)) < 1e-4


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


def test_generate_masks_past_each_length():
    keras.utils.set_random_seed(2)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    generate = tf.function(lambda m, n: model.generate(m, n, seed=tf.constant([0, 0])))
    audio, lengths = generate(tf.random.normal([2, 4, 80]), tf.constant([4, 2]))
    assert audio.shape == (2, 800) and lengths.numpy().tolist() == [800, 400]
    assert np.all(audio.numpy()[1, 400:] == 0) and np.any(audio.numpy()[1, :400] != 0)


def test_overfits_a_short_clip():
    keras.utils.set_random_seed(3)
    cfg = config()
    model = build_wavenet(cfg.audio, cfg.model)
    wav = speech_like(0.2, seed=4)
    batch = {"audio": tf.constant(wav[None, :3200]), "mel": mel_spectrogram(wav, cfg.audio)[None, :16]}
    optimizer = keras.optimizers.Adam(2e-3)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(wavenet_loss(model(batch, training=True), batch["audio"]))
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss

    first = float(step())
    for _ in range(300):
        last = float(step())
    assert last < first / 2.5, (first, last)  # cross entropy from ~ln(256) = 5.5 falls 2.5-fold
