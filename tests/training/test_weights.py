"""Compact weight files: float16 round trip within float16 rounding, refused for another architecture, and
a fresh training run warm-started from one (tfclone-train --init_weights)."""
import numpy as np
import pytest

from tfclone.config import experiment_config
from tfclone.tasks import build_task
from tfclone.training.weights import WeightsError, load_weights, save_weights


def tiny(repo_root, overrides=""):
    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")], overrides)
    return build_task("speaker_encoder", config).build_model(), config


def test_round_trip_within_float16_and_refuses_other_shapes(repo_root, tmp_path):
    model, _ = tiny(repo_root)
    path = save_weights(model, str(tmp_path / "w.npz"))
    other, _ = tiny(repo_root)
    assert load_weights(other, path) == len(model.weights)
    for a, b in zip(model.weights, other.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-3, atol=1e-6)
        np.testing.assert_array_equal(b.numpy(), a.numpy().astype(np.float16).astype(np.float32))
    mel = np.random.default_rng(0).normal(size=(2, 160, 40)).astype(np.float32)
    np.testing.assert_allclose(other(mel).numpy(), model(mel).numpy(), atol=2e-3)
    wider, _ = tiny(repo_root, "model.lstm_units=32")
    with pytest.raises(WeightsError, match="shape"):
        load_weights(wider, path)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(WeightsError, match="not a tfclone weight file"):
        load_weights(other, str(tmp_path / "junk.npz"))


def test_training_starts_from_init_weights(repo_root, tmp_path, local_shards):
    from tfclone.training.trainer import Trainer

    model, config = tiny(repo_root, "train.train_steps=1,train.checkpoint_every=1,train.summary_every=1,"
                                    "train.eval_every=1000")
    for v in model.weights:
        v.assign(np.full(v.shape, 0.01, np.float32))
    path = save_weights(model, str(tmp_path / "w.npz"))
    trainer = Trainer(build_task("speaker_encoder", config), str(tmp_path / "run"), init_weights=path)
    trainer._build(str(local_shards))  # pylint: disable=protected-access
    assert trainer.restored_from is None
    for v in trainer.model.weights:
        np.testing.assert_allclose(v.numpy(), np.float16(0.01), rtol=0)
