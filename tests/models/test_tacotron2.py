"""Tacotron 2: shapes, config round trip, masking of padded batches, loss terms against NumPy, and a
small overfit where the loss must fall and the attention must become monotonic and diagonal."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from tfclone.config import experiment_config
from tfclone.eval.alignment import batch_alignment_scores
from tfclone.losses import tacotron as losses
from tfclone.config import SynthesizerModelConfig
from tfclone.models.tacotron2 import Tacotron2, build_tacotron2, model_arguments
from tfclone.tasks.synthesizer import SynthesizerTask
from tfclone.training.trainer import Trainer


@pytest.fixture(scope="module")
def tiny():
    return experiment_config("synthesizer", ["configs/synthesizer/tiny.yaml"])


def inputs(rng, lengths, frames, n_symbols=40):
    b, t = len(lengths), max(lengths)
    ids = np.zeros([b, t], np.int32)
    for i, n in enumerate(lengths):
        ids[i, :n - 1] = rng.integers(3, n_symbols, n - 1)
        ids[i, n - 1] = 1
    return {"token_ids": tf.constant(ids), "token_length": tf.constant(lengths, tf.int32),
            "speaker_embedding": tf.constant(rng.standard_normal((b, 256)), tf.float32),
            "mel": tf.constant(rng.uniform(-8, 0, (b, frames, 80)), tf.float32)}


def test_constructor_arguments_are_the_config_fields_with_the_same_defaults():
    import inspect

    parameters = inspect.signature(Tacotron2.__init__).parameters
    defaults = SynthesizerModelConfig()
    assert len(model_arguments()) == 23
    for name in model_arguments():
        expected = getattr(defaults, name)
        assert parameters[name].default == (tuple(expected) if isinstance(expected, list) else expected), name
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Tacotron2: {'decoder_units'"):
        Tacotron2(40, decoder_units=8)


def test_shapes_and_config_round_trip(tiny):
    keras.utils.set_random_seed(0)
    model = build_tacotron2(40, tiny.audio, tiny.model)
    batch = inputs(np.random.default_rng(0), [7, 5], 20)
    out = model(batch, training=True)
    assert out["mel_before"].shape == (2, 20, 80) and out["mel_after"].shape == (2, 20, 80)
    assert out["stop_logits"].shape == (2, 7) and out["alignment"].shape == (2, 7, 7)  # ceil(20 / 3) steps
    np.testing.assert_allclose(out["alignment"].numpy()[1, :, 5:], 0.0)  # no attention on padding
    np.testing.assert_allclose(out["alignment"].numpy().sum(-1), 1.0, rtol=1e-5)
    clone = Tacotron2.from_config(model.get_config())
    clone(batch)
    clone.set_weights(model.get_weights())
    a = model.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"], max_steps=5,
                    prenet_dropout=False)
    b = clone.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"], max_steps=5,
                    prenet_dropout=False)
    np.testing.assert_allclose(a["mel"].numpy(), b["mel"].numpy(), atol=1e-5)


def test_the_decoder_cap_is_tokens_times_frames_per_token_with_a_floor():
    model = Tacotron2(40, reduction_factor=3, max_decoder_steps_per_token=6.0, min_decoder_frames=100)
    # 5 tokens x 6 = 30 frames, under the floor: 100 frames = 34 steps of 3, + 1 for the stop
    assert int(model.max_steps(5)) == 35
    assert int(model.max_steps(40)) == 81  # 240 frames: above the floor, 80 steps + 1
    model.min_decoder_frames = 0
    assert int(model.max_steps(5)) == 11  # 30 frames: 10 steps + 1
    with pytest.raises(ValueError, match="min_decoder_frames.*>= 0"):
        experiment_config("synthesizer", ["configs/synthesizer/tiny.yaml"], "model.min_decoder_frames=-1")


def test_padded_batch_equals_each_item_alone(tiny):
    keras.utils.set_random_seed(1)
    model = build_tacotron2(40, tiny.audio, tiny.model)
    batch = inputs(np.random.default_rng(1), [9, 4, 6], 12)
    together = model.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"], max_steps=6,
                           prenet_dropout=False)
    for i, n in enumerate([9, 4, 6]):
        alone = model.infer(batch["token_ids"][i:i + 1, :n], batch["token_length"][i:i + 1],
                            batch["speaker_embedding"][i:i + 1], max_steps=6, prenet_dropout=False)
        frames = int(alone["mel_length"][0])
        assert int(together["mel_length"][i]) == frames
        np.testing.assert_allclose(together["mel"][i, :frames].numpy(), alone["mel"][0, :frames].numpy(), atol=1e-4)
        np.testing.assert_allclose(together["alignment"][i, :frames // 3, :n].numpy(),
                                   alone["alignment"][0, :frames // 3].numpy(), atol=1e-5)


def test_xla_compiled_fixed_buffer_decode_equals_infer(tiny):
    """decode_fixed under jit_compile, on token ids padded wider than the batch needs, then finish(): the same
    mels, lengths and alignments as infer, with items stopping at different steps. (A growable TensorArray
    under XLA silently returns nothing: this is why decode_fixed exists.)"""
    keras.utils.set_random_seed(4)
    model = build_tacotron2(40, tiny.audio, tiny.model)
    batch = inputs(np.random.default_rng(4), [9, 4, 6], 12)
    ids = tf.pad(batch["token_ids"], [[0, 0], [0, 7]])  # width 16: the export pads to a multiple of 16
    lengths_seen = set()
    for threshold in (0.3, 0.5, 0.7):  # the threshold is read when tracing: one compiled function each
        model.stop_threshold = threshold
        compiled = tf.function(lambda i, n, e: model.decode_fixed(i, n, e, prenet_dropout=False), jit_compile=True)
        expected = model.infer(batch["token_ids"], batch["token_length"], batch["speaker_embedding"],
                               prenet_dropout=False)
        frames, lengths, alignment, steps = compiled(ids, batch["token_length"], batch["speaker_embedding"])
        assert frames.shape[1] == model.r * int(model.max_steps(16))  # the whole buffer comes back
        got = model.finish(frames[:, :int(steps) * model.r], lengths, alignment[:, :int(steps), :9])
        np.testing.assert_array_equal(got["mel_length"].numpy(), expected["mel_length"].numpy())
        np.testing.assert_allclose(got["mel"].numpy(), expected["mel"].numpy(), atol=1e-4)
        np.testing.assert_allclose(got["alignment"].numpy(), expected["alignment"].numpy(), atol=1e-5)
        lengths_seen.update(int(n) for n in expected["mel_length"])
    model.stop_threshold = tiny.model.stop_threshold
    assert len(lengths_seen) >= 2, lengths_seen  # items (or thresholds) stopped at different steps


def test_loss_terms_against_numpy():
    rng = np.random.default_rng(2)
    pred, target = rng.standard_normal((2, 7, 4)), rng.standard_normal((2, 7, 4))
    lengths = np.array([7, 3])
    expected = [np.mean((pred[b, :n] - target[b, :n]) ** 2) for b, n in enumerate(lengths)]
    np.testing.assert_allclose(losses.masked_mse(pred, target, lengths).numpy(), expected, rtol=1e-5)
    # Stop targets with r = 3: 7 frames -> the step holding frame 7 (index 2) and after; 3 frames -> step 0.
    np.testing.assert_array_equal(losses.stop_targets(tf.constant([7, 3]), 4, 3).numpy(),
                                  [[0, 0, 1, 1], [1, 1, 1, 1]])
    logits = rng.standard_normal((2, 4)).astype(np.float32)
    targets = losses.stop_targets(tf.constant([7, 3]), 4, 3).numpy()
    sig = 1 / (1 + np.exp(-logits))
    bce = -(5.0 * targets * np.log(sig) + (1 - targets) * np.log(1 - sig)).mean(1)
    np.testing.assert_allclose(losses.stop_loss(logits, tf.constant([7, 3]), 3, 5.0).numpy(), bce, rtol=1e-5)
    # Guided attention: W = 1 - exp(-(n/N - t/T)^2 / 2g^2) over each example's N x T.
    w, valid = losses.guided_attention_weights(tf.constant([3, 2]), tf.constant([4, 2]), 3, 4, 0.2)
    n, t = np.arange(3)[:, None], np.arange(4)[None, :]
    np.testing.assert_allclose(w.numpy()[0], 1 - np.exp(-((n / 3 - t / 4) ** 2) / 0.08), rtol=1e-5)
    assert valid.numpy()[1].sum() == 4 and w.numpy()[1, 2:].sum() == 0 and w.numpy()[1, :, 2:].sum() == 0
    diagonal = np.zeros((1, 3, 3), np.float32)
    diagonal[0, [0, 1, 2], [0, 1, 2]] = 1
    anti = diagonal[:, :, ::-1].copy()
    ga = lambda a: float(losses.guided_attention_loss(a, tf.constant([9]), tf.constant([3]), 3, 0.2)[0])  # noqa
    assert ga(diagonal) < 0.1 * ga(anti)


def test_small_overfit_loss_falls_and_attention_aligns(tmp_path, tiny):
    """4 'sentences' whose tokens each map to 6 frames of a fixed spectrum: a perfectly alignable task."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    templates = rng.uniform(-8, 0, size=(60, 80)).astype(np.float32)
    lengths = np.array([12, 10, 9, 11])
    ids = np.zeros([4, 12], np.int32)
    mel = np.full([4, 66, 80], np.log(1e-5), np.float32)
    for b, n in enumerate(lengths):
        ids[b, :n - 1] = rng.integers(12, 60, n - 1)
        ids[b, n - 1] = 1
        for t in range(n - 1):
            mel[b, 6 * t:6 * t + 6] = templates[ids[b, t]] + 0.1 * rng.standard_normal((6, 80))
    mel_length = (lengths - 1) * 6
    batch = {"token_ids": tf.constant(ids), "token_length": tf.constant(lengths, tf.int32), "mel": tf.constant(mel),
             "mel_length": tf.constant(mel_length, tf.int32),
             "speaker_embedding": tf.constant(rng.standard_normal((4, 256)), tf.float32)}
    config = experiment_config("synthesizer", ["configs/synthesizer/tiny.yaml"],
                               "train.batch_size=4,train.train_steps=200,train.learning_rate=5e-3,"
                               "train.summary_every=200,train.checkpoint_every=200,train.eval_every=100000")

    class OneBatch(SynthesizerTask):
        def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
            return tf.data.Dataset.from_tensors(batch).repeat()

        def summary_batch(self, data_dir):
            return batch

    task = OneBatch(config)
    initial = float(task.compute_loss(build_tacotron2(len(task.symbols), config.audio, config.model), None,
                                      batch, training=False)[0]) / 4
    trainer = Trainer(task, str(tmp_path / "overfit"))
    result = trainer.train("")
    assert result.metrics["loss"] < initial / 6, (initial, result.metrics["loss"])  # falls 6-fold (measured 8.6)
    out = trainer.model(batch, training=False)
    scores = batch_alignment_scores(out["alignment"].numpy(), (mel_length + 2) // 3, lengths)
    assert scores["monotonic"] >= 0.9 and scores["diagonal"] >= 0.8, scores  # measured 1.0 and 0.96
    assert (tmp_path / "overfit" / "plots" / "alignment_teacher_forced.png").exists()


def test_validation_loss_is_reproducible_and_the_mean_over_the_validation_split(local_shards):
    """Fixed prenet dropout masks: two evaluations of one model agree exactly (fresh masks moved one
    batch's loss by ~0.1 on the demo run), and the loss is the utterance-weighted mean over every
    validation batch (train.eval_batches=0), not the first batch's."""
    from tfclone.tasks.synthesizer import EVAL_DROPOUT_SEED

    keras.utils.set_random_seed(0)
    task = SynthesizerTask(experiment_config("synthesizer", ["configs/synthesizer/tiny.yaml"],
                                             "train.batch_size=4,train.eval_batches=0,model.max_decoder_steps_per_token=2"))
    model = task.build_model()
    first = task.evaluate(model, str(local_shards))
    assert task.evaluate(model, str(local_shards)) == first

    batches = list(task.summary_dataset(task.fixed_order_config(), str(local_shards), "validation"))
    assert len(batches) >= 3
    sizes = np.array([int(b["token_length"].shape[0]) for b in batches])
    losses = np.array([float(task._validation_step(model, b)["loss"]) for b in batches])  # traced
    seed = tf.constant(EVAL_DROPOUT_SEED)
    eager = float(task.compute_loss(model, None, batches[-1], False, dropout_seed=seed)[1]["loss"])
    np.testing.assert_allclose(losses[-1], eager, rtol=1e-5)
    expected = np.sum(sizes * losses) / np.sum(sizes)
    np.testing.assert_allclose(first["validation_loss"], expected, rtol=1e-5)
    assert abs(losses[0] - expected) > 1e-3 * expected, (losses, expected)  # the first batch alone is not it
    unseeded = [float(task.compute_loss(model, None, batches[0], False)[1]["loss"]) for _ in range(2)]
    assert unseeded[0] != unseeded[1]  # what fixed masks fix
