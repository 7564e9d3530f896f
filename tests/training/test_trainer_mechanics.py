"""The Trainer's mechanics on a toy regression task (fast, in-process): the loss falls, NaN steps are
skipped or stop training without reaching a checkpoint, mixed precision scales the loss, resume works."""
import dataclasses
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfclone.config import Config, TrainConfig
from tfclone.tasks.base import Task
from tfclone.training.optimization import learning_rate_schedule
from tfclone.training.trainer import Trainer, TrainingError


@dataclasses.dataclass(frozen=True)
class ToyConfig(Config):
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    poison_every: int = 0  # every k-th row gets a NaN target


W_TRUE = np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32)


class ToyTask(Task):
    """y = x @ W_true; a Dense layer learns W_true."""
    name = "toy"

    def build_model(self):
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input([4]), keras.layers.Dense(1, use_bias=False)])

    def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((256, 4)).astype(np.float32)
        y = x @ W_TRUE
        poison = np.zeros(256, np.float32)
        if self.config.poison_every:
            poison[:: self.config.poison_every] = 1.0
        batch = self.config.train.batch_size
        return (tf.data.Dataset.from_tensor_slices({"x": x, "y": y, "poison": poison}).repeat()
                .batch(batch, drop_remainder=True))

    def compute_loss(self, model, loss_layer, batch, training=True, step=None):
        prediction = tf.cast(model(batch["x"], training=training), tf.float32)
        target = batch["y"] + tf.math.log(1.0 - batch["poison"][:, None])  # -inf where poisoned
        per_example = tf.reduce_sum(tf.square(prediction - target), axis=-1)
        return tf.reduce_sum(per_example), {"loss": tf.reduce_mean(per_example)}


def toy(tmp_path, name, **train):
    defaults = dict(batch_size=16, train_steps=120, learning_rate=0.05, checkpoint_every=40, summary_every=20,
                    eval_every=1000, clip_norm=0.0)
    defaults.update(train)
    poison = defaults.pop("poison_every", 0)
    return ToyTask(ToyConfig(TrainConfig(**defaults), poison)), str(tmp_path / name)


def _first_loss(task):
    model = task.build_model()
    batch = next(iter(task.build_inputs("")))
    return float(task.compute_loss(model, None, batch)[1]["loss"])


def _final_loss(task, trainer):
    return float(task.compute_loss(trainer.model, None, next(iter(task.build_inputs(""))))[1]["loss"])


def test_loss_falls_and_resume_continues(tmp_path):
    task, model_dir = toy(tmp_path, "run")
    initial = _first_loss(task)
    trainer = Trainer(task, model_dir)
    result = trainer.train("")
    assert result.step == 120 and result.skipped_steps == 0
    after_120 = _final_loss(task, trainer)
    assert after_120 < initial / 100, (initial, after_120)  # falls 100-fold
    longer, _ = toy(tmp_path, "run", train_steps=240)
    resumed_trainer = Trainer(longer, model_dir)
    resumed = resumed_trainer.train("")
    assert resumed.step == 240
    assert _final_loss(longer, resumed_trainer) < after_120 / 10  # continued from step 120, not from scratch
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-240")


class FileTask(ToyTask):
    """The toy task reading its rows from data_dir/x.npy through a shuffle buffer (which a checkpointed
    iterator carries: the rows already in it)."""

    def build_inputs(self, data_dir, split="train", input_context=None, seed_offset=0):
        x = np.load(os.path.join(data_dir, "x.npy"))
        y = x @ W_TRUE
        rows = {"x": x, "y": y, "poison": np.zeros(len(x), np.float32)}
        return (tf.data.Dataset.from_tensor_slices(rows).shuffle(64, seed=seed_offset).repeat()
                .batch(self.config.train.batch_size, drop_remainder=True))


def test_resume_continues_the_data_but_not_over_other_data(tmp_path):
    """Resumed on its own data, a run continues the input where the checkpoint left it; resumed on other
    data (another corpus in the same model_dir), nothing of the old data's shuffle buffer is fed."""
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, offset in ((old, 0.0), (new, 1000.0)):
        folder.mkdir()  # the first column tells the data apart: 0-255 in old, 1000-1255 in new
        x = np.random.default_rng(1).standard_normal((256, 4)).astype(np.float32) * 0.01
        x[:, 0] = offset + np.arange(256)
        np.save(folder / "x.npy", x)
    task = FileTask(ToyConfig(TrainConfig(batch_size=16, train_steps=10, learning_rate=1e-6, checkpoint_every=10,
                                          summary_every=10, eval_every=1000)))
    model_dir = str(tmp_path / "run")
    first = Trainer(task, model_dir)
    first.train(str(old))
    following = next(first.iterator)["x"].numpy()[:, 0]  # the batch step 11 would have read

    resumed = Trainer(task, model_dir)
    resumed.train(str(old))  # at train_steps already: restores and stops
    np.testing.assert_array_equal(next(resumed.iterator)["x"].numpy()[:, 0], following)

    moved = Trainer(task, model_dir)
    assert moved.train(str(new)).step == 10
    seen = np.concatenate([next(moved.iterator)["x"].numpy()[:, 0] for _ in range(4)])  # the buffer's 64 rows
    assert np.all(seen >= 1000), seen  # with the old position restored, old rows (< 256) came first
    longer = FileTask(ToyConfig(dataclasses.replace(task.config.train, train_steps=20)))
    assert Trainer(longer, model_dir).train(str(new)).step == 20  # the new data's record kept from now on
    with open(os.path.join(model_dir, "input.json")) as f:
        assert json.load(f)["data_dir"] == str(new)


def test_a_time_budget_stops_at_a_summary_boundary_with_a_checkpoint_and_the_next_run_continues(tmp_path):
    task, model_dir = toy(tmp_path, "run", train_steps=10 ** 6, checkpoint_every=10 ** 5, summary_every=20)
    first = Trainer(task, model_dir).train("", max_seconds=0.0)
    assert (first.step, first.out_of_time) == (20, True)  # the first boundary after the budget ran out
    assert tf.train.latest_checkpoint(model_dir).endswith("ckpt-20")  # saved though not at checkpoint_every
    second = Trainer(task, model_dir).train("", max_seconds=0.0)
    assert (second.step, second.out_of_time) == (40, True)
    short, _ = toy(tmp_path, "run", train_steps=60, checkpoint_every=10 ** 5, summary_every=20)
    finished = Trainer(short, model_dir).train("", max_seconds=3600.0)
    assert (finished.step, finished.out_of_time) == (60, False)  # reached train_steps within the budget


def test_nonfinite_steps_are_skipped(tmp_path):
    # Rows 0, 48, ..., 240 of every 256 are poisoned: with batch 16, batches 0, 3, 6, 9, 12, 15 of each
    # 16 carry a NaN, so 200 steps (12 passes and batches 0-7) hold exactly 72 + 3 bad steps.
    task, model_dir = toy(tmp_path, "skip", poison_every=48, train_steps=200)
    initial = _first_loss(toy(tmp_path, "clean")[0])
    trainer = Trainer(task, model_dir)
    result = trainer.train("")
    assert result.skipped_steps == 75
    reader = tf.train.load_checkpoint(model_dir)
    floats = [n for n, d in reader.get_variable_to_dtype_map().items() if d.is_floating]
    assert len(floats) >= 4, floats  # the kernel, Adam's two slots, the loss scale
    for name in floats:
        assert np.all(np.isfinite(reader.get_tensor(name))), name  # no NaN reached the checkpoint
    # ... and the 125 good steps still trained the model.
    clean_batch = next(iter(toy(tmp_path, "clean")[0].build_inputs("")))
    final = float(task.compute_loss(trainer.model, None, clean_batch)[1]["loss"])
    assert final < initial / 10, (initial, final)


def test_nonfinite_stop_keeps_the_last_checkpoint(tmp_path):
    task, model_dir = toy(tmp_path, "stop", poison_every=256, train_steps=100, nonfinite_loss="stop",
                          checkpoint_every=10, summary_every=10)
    # batch 16 of 256 rows: a poisoned batch every 16 steps (steps 1, 17, ...); the first chunk stops it.
    with pytest.raises(TrainingError, match="non-finite loss .* stopping .* checkpoint .* intact"):
        Trainer(task, model_dir).train("")
    assert tf.train.latest_checkpoint(model_dir) is None  # nothing after the bad step was saved


def test_mixed_precision_trains_with_a_loss_scale(tmp_path):
    task, model_dir = toy(tmp_path, "mp", mixed_precision=True, train_steps=200)
    initial = _first_loss(task)
    trainer = Trainer(task, model_dir)
    result = trainer.train("")
    assert trainer.model.layers[0].compute_dtype == "float16"
    # Dynamic scaling: each float16 overflow skips its step and halves the scale (no growth in 200 steps).
    scale = float(trainer.loss_scale.numpy())
    assert 1.0 <= scale < 2.0 ** 15 and result.skipped_steps == round(np.log2(2.0 ** 15 / scale))
    assert _final_loss(task, trainer) < initial / 20
    assert keras.mixed_precision.global_policy().name == "float32"  # not leaked


def test_learning_rate_schedules():
    warm = learning_rate_schedule(TrainConfig(learning_rate=1e-3, lr_schedule="warmup_exponential",
                                              warmup_steps=100, decay_steps=1000, decay_rate=0.5,
                                              min_learning_rate=1e-5))
    np.testing.assert_allclose([float(warm(s)) for s in (0, 49, 99, 1100, 100000)],
                               [1e-5, 5e-4, 1e-3, 5e-4, 1e-5], rtol=1e-5)
    expo = learning_rate_schedule(TrainConfig(learning_rate=1e-3, lr_schedule="exponential", decay_steps=10,
                                              decay_rate=0.1, min_learning_rate=1e-6))
    np.testing.assert_allclose([float(expo(s)) for s in (0, 10, 20)], [1e-3, 1e-4, 1e-5], rtol=1e-5)
    assert float(learning_rate_schedule(TrainConfig(learning_rate=3e-4))(12345)) == pytest.approx(3e-4)


def test_resume_refuses_another_model_but_not_other_generation_settings(tmp_path, repo_root):
    """A vocoder run resumes after its sampling/folding/XLA settings change (they do not touch the weights);
    a changed layer count is refused, naming the field and both values."""
    from tfclone.config import experiment_config
    from tfclone.tasks import build_task

    def vocoder(overrides):
        return build_task("vocoder", experiment_config("vocoder", [str(repo_root / "configs/vocoder/tiny.yaml")], overrides))

    Trainer(vocoder(""), str(tmp_path))  # writes config.yaml
    Trainer(vocoder("model.fold_segment_frames=7,model.fold_overlap_frames=1,model.xla=false,"
                    "model.generation_loops=3,model.temperature=0.7"), str(tmp_path))
    with pytest.raises(TrainingError, match=r"another `model` config \(layers: 8 -> 4\)"):
        Trainer(vocoder("model.layers=4"), str(tmp_path))


def test_synthesizer_resumes_after_loss_weights_change_but_not_sizes(tmp_path, repo_root):
    """The guided-attention and stop weights and the inference bounds only feed the loss or generation."""
    from tfclone.config import experiment_config
    from tfclone.tasks import build_task

    def synthesizer(overrides):
        return build_task("synthesizer", experiment_config(
            "synthesizer", [str(repo_root / "configs/synthesizer/tiny.yaml")], overrides))

    Trainer(synthesizer(""), str(tmp_path))
    Trainer(synthesizer("model.guided_attention_weight=30.0,model.guided_attention_decay_steps=4000,"
                        "model.stop_positive_weight=2.0,model.max_decoder_steps_per_token=4.0,model.xla=false"),
            str(tmp_path))
    with pytest.raises(TrainingError, match=r"another `model` config \(decoder_lstm_units: 256 -> 128\)"):
        Trainer(synthesizer("model.decoder_lstm_units=128"), str(tmp_path))
