"""Compact weight files: float16 round trip within float16 rounding, refused for another architecture, taken
in part by a changed one (--init_weights_partial), and a fresh training run warm-started from one
(tfclone-train --init_weights)."""
import numpy as np
import pytest

from tfclone.config import experiment_config
from tfclone.tasks import build_task
from tfclone.training.weights import WeightsError, load_weights, load_weights_partial, save_weights


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


def test_a_partial_load_takes_what_fits_a_synthesizer_with_another_r_and_postnet(repo_root, tmp_path):
    def synthesizer(overrides=""):
        config = experiment_config("synthesizer", [str(repo_root / "configs/synthesizer/tiny.yaml")], overrides)
        return build_task("synthesizer", config).build_model()

    source = synthesizer()  # r = 3, no postnet
    for i, v in enumerate(source.weights):
        v.assign(np.random.default_rng(i).normal(size=v.shape).astype(np.float32))
    path = save_weights(source, str(tmp_path / "w.npz"))
    stored = {v.path: v.numpy().astype(np.float16).astype(np.float32) for v in source.weights}
    changed = synthesizer("model.reduction_factor=2,model.postnet_layers=2")
    before = {v.path: v.numpy().copy() for v in changed.weights}
    with pytest.raises(WeightsError, match="holds 39 variables, the model has 51"):
        load_weights(changed, path)
    count, left, fitted = load_weights_partial(changed, path)
    assert count == len(source.weights) == len(changed.weights) - len(left)
    assert fitted == {"tacotron2/frame_projection/kernel": "shape [640, 160], the file's [640, 240]",
                      "tacotron2/frame_projection/bias": "shape [160], the file's [240]"}
    assert sorted(left) == sorted(v.path for v in changed.weights if v.path.startswith("tacotron2/postnet_"))
    assert set(left.values()) == {"not in the file"}
    kernel = stored["tacotron2/frame_projection/kernel"]  # [640, 3 frames x 80 mels], frame-major
    for v in changed.weights:
        if v.path == "tacotron2/frame_projection/kernel":  # r = 2: the stored frames 0 and 1
            np.testing.assert_array_equal(v.numpy(), kernel[:, :160])
        elif v.path == "tacotron2/frame_projection/bias":
            np.testing.assert_array_equal(v.numpy(), stored[v.path][:160])
        else:
            np.testing.assert_array_equal(v.numpy(), before[v.path] if v.path in left else stored[v.path])
    longer = synthesizer("model.reduction_factor=4")  # r = 4: frames 0, 1, 2 and 2 again
    assert load_weights_partial(longer, path)[1:] == ({}, {
        "tacotron2/frame_projection/kernel": "shape [640, 320], the file's [640, 240]",
        "tacotron2/frame_projection/bias": "shape [320], the file's [240]"})
    np.testing.assert_array_equal(longer.frame_projection.kernel.numpy(),
                                  np.concatenate([kernel, kernel[:, 160:]], axis=1))
    narrower = synthesizer("model.decoder_lstm_units=32")  # another input size: not fitted, left
    assert "the file's [640, 240]" in load_weights_partial(narrower, path)[1]["tacotron2/frame_projection/kernel"]
    encoder, _ = tiny(repo_root)
    with pytest.raises(WeightsError, match="none of its .* variables fits"):
        load_weights_partial(synthesizer(), save_weights(encoder, str(tmp_path / "encoder.npz")))


@pytest.mark.parametrize("partial", [False, True])
def test_training_starts_from_init_weights(repo_root, tmp_path, local_shards, partial):
    from tfclone.training.trainer import Trainer

    model, config = tiny(repo_root, "train.train_steps=1,train.checkpoint_every=1,train.summary_every=1,"
                                    "train.eval_every=1000")
    for v in model.weights:
        v.assign(np.full(v.shape, 0.01, np.float32))
    path = save_weights(model, str(tmp_path / "w.npz"))
    trainer = Trainer(build_task("speaker_encoder", config), str(tmp_path / "run"), init_weights=path,
                      init_weights_partial=partial)
    trainer._build(str(local_shards))  # pylint: disable=protected-access
    assert trainer.restored_from is None
    for v in trainer.model.weights:
        np.testing.assert_allclose(v.numpy(), np.float16(0.01), rtol=0)
