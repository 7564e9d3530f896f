import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.config import SpeakerEncoderModelConfig, encoder_audio
from tfclone.models.speaker_encoder import (SpeakerEncoder, build_speaker_encoder, embed_utterances,
                                            partial_starts)

AUDIO = encoder_audio()
TINY = SpeakerEncoderModelConfig(lstm_layers=2, lstm_units=32, lstm_projection=16, embedding_dim=24)


def resemblyzer_slices(n_samples, rate=1.3, min_coverage=0.75, sr=16000, hop=160, p=160):
    """Resemblyzer 0.1.4's compute_partial_slices, verbatim in logic."""
    n_frames = int(np.ceil((n_samples + 1) / hop))
    frame_step = int(np.round((sr / rate) / hop))
    slices = []
    steps = max(1, n_frames - p + frame_step + 1)
    for i in range(0, steps, frame_step):
        slices.append(i)
    coverage = (n_samples - slices[-1] * hop) / (p * hop)
    if coverage < min_coverage and len(slices) > 1:
        slices = slices[:-1]
    return slices


def test_shapes_and_unit_norm():
    model = build_speaker_encoder(AUDIO, TINY)
    out = model(tf.random.normal([3, 160, 40]))
    assert out.shape == (3, 24)
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=1), 1.0, rtol=1e-5)
    assert len(model.lstms) == 2 and len(model.projections) == 2


def test_config_round_trip():
    model = build_speaker_encoder(AUDIO, TINY)
    clone = SpeakerEncoder.from_config(model.get_config())
    clone(tf.zeros([1, 160, 40]))
    clone.set_weights(model.get_weights())
    x = tf.random.normal([2, 50, 40])
    np.testing.assert_allclose(clone(x).numpy(), model(x).numpy(), atol=1e-6)


@pytest.mark.parametrize("model_config", [TINY, SpeakerEncoderModelConfig(lstm_layers=3, lstm_units=48,
                                                                         lstm_projection=0, final_relu=True)])
def test_fused_inference_equals_keras(model_config):
    """infer() (BlockLSTMV2 with the Keras weights as they are) gives call()'s embeddings, for 160 frames."""
    model = build_speaker_encoder(AUDIO, model_config)
    for w in model.weights:  # non-zero biases too, so the gate order is checked on every weight
        w.assign(tf.random.stateless_normal(w.shape, [len(w.name), 1]) * 0.3)
    x = tf.random.stateless_normal([4, 160, 40], [0, 2])
    keras_side, fused = model(x).numpy(), tf.function(model.infer)(x).numpy()
    assert np.abs(keras_side).max() > 0.05  # not a degenerate, all-zero embedding
    np.testing.assert_allclose(fused, keras_side, atol=2e-6)


@pytest.mark.parametrize("n", [100, 16000, 25600, 25760, 33000, 41000, 64123, 160000])
def test_partial_windows_follow_resemblyzer(n):
    cfg = SpeakerEncoderModelConfig()
    starts, valid = partial_starts(tf.constant([n]), AUDIO, cfg)
    ours = starts.numpy()[0][valid.numpy()[0]].tolist()
    assert ours == resemblyzer_slices(n)


def test_batched_utterance_embedding_equals_one_at_a_time():
    model = build_speaker_encoder(AUDIO, TINY)
    wavs = [speech_like(s, seed=i) for i, s in enumerate([3.1, 1.0, 5.7])]
    lengths = [len(w) for w in wavs]
    batch = np.zeros([3, max(lengths)], np.float32)
    for i, w in enumerate(wavs):
        batch[i, :len(w)] = w
    batch[1, lengths[1]:] = 0.3  # garbage past the length must be ignored
    together = embed_utterances(model, batch, lengths, AUDIO, TINY).numpy()
    for i, w in enumerate(wavs):
        alone = embed_utterances(model, w[None], [len(w)], AUDIO, TINY).numpy()[0]
        np.testing.assert_allclose(together[i], alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-5)
    # Explicit mean of partials for one utterance.
    starts, valid = partial_starts(tf.constant([lengths[2]]), AUDIO, TINY)
    from tfclone.audio.features import mel_spectrogram
    padded = np.pad(wavs[2], (0, (int(starts.numpy().max()) + 160) * 160))
    mel = mel_spectrogram(padded, AUDIO).numpy()
    parts = model(np.stack([mel[s:s + 160] for s in starts.numpy()[0][valid.numpy()[0]]])).numpy()
    mean = parts.mean(0)
    np.testing.assert_allclose(together[2], mean / np.linalg.norm(mean), atol=1e-5)


def test_volume_normalization_only_raises():
    model = build_speaker_encoder(AUDIO, TINY)
    w = speech_like(2.0, seed=3)
    quiet, loud = w * 0.001, w * 0.5
    normalized = dataclasses.replace(TINY, volume_normalize_dbfs=-30.0)
    e_quiet = embed_utterances(model, quiet[None], [len(w)], AUDIO, normalized)
    e_target = embed_utterances(model, (w * 10 ** ((-30 - 10 * np.log10(np.mean(w ** 2))) / 20))[None],
                                [len(w)], AUDIO, TINY)
    np.testing.assert_allclose(e_quiet.numpy(), e_target.numpy(), atol=2e-5)
    e_loud = embed_utterances(model, loud[None], [len(w)], AUDIO, normalized)
    np.testing.assert_allclose(e_loud.numpy(), embed_utterances(model, loud[None], [len(w)], AUDIO, TINY).numpy(),
                               atol=1e-6)
