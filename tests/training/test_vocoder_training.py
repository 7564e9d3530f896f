"""The vocoder end to end on the local corpus: tfclone-train (loss falls, audio summaries), the EMA of the
weights follows its recurrence, tfclone-export of the EMA weights (folded and plain) gives the Keras
output for a fixed seed in a process without tfclone, and Griffin-Lim serves the same signature."""
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import features
from tfclone.config import experiment_config
from tfclone.export.vocoder import vocode
from tfclone.models.wavenet import build_wavenet
from tfclone.tasks import build_task
from tfclone.training.trainer import Trainer

from tests.export.helpers import run_saved_model
from tests.training.test_train_tool import run, steps_logged


@pytest.fixture(scope="module")
def trained(local_shards, tmp_path_factory, repo_root):
    model_dir = tmp_path_factory.mktemp("vocoder") / "run"
    overrides = ("train.train_steps=300,train.checkpoint_every=100,train.summary_every=20,train.eval_every=300,"
                 "train.batch_size=4,data.segment_frames=8,model.ema_decay=0.9,model.fold_segment_frames=6,"
                 "model.fold_overlap_frames=2")
    result = run([sys.executable, "-m", "tools.train", "--model=vocoder", "--config=configs/vocoder/tiny.yaml",
                  f"--data_dir={local_shards}", f"--model_dir={model_dir}", f"--params_override={overrides}"],
                 repo_root, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return model_dir, result.stderr


def test_train_tool_loss_falls_and_writes_audio_summaries(trained):
    model_dir, log = trained
    logged = steps_logged(log)
    assert [s for s, _ in logged] == list(range(20, 301, 20))
    first, last = logged[0][1], min(v for _, v in logged[-3:])
    # mu-law cross entropy: ln 256 = 5.5 at the start, the corpus' marginal entropy (5.36) for ~150 steps,
    # then it starts using the past (measured 4.4-4.6 at step 300).
    assert last < 0.88 * first, (first, last)
    assert (model_dir / "ckpt-300.index").exists()
    assert (model_dir / "plots" / "waveforms.png").exists()
    names = {n for n, _ in tf.train.list_variables(str(model_dir / "ckpt-300"))}
    assert any(n.startswith("ema_model/") for n in names)


def test_ema_follows_its_recurrence(local_shards, tmp_path, repo_root):
    decay = 0.5
    config = experiment_config("vocoder", [str(repo_root / "configs/vocoder/tiny.yaml")],
                               f"train.train_steps=3,train.checkpoint_every=1,train.summary_every=1000,"
                               f"train.eval_every=1000,model.ema_decay={decay}")
    Trainer(build_task("vocoder", config), str(tmp_path / "run")).train(str(local_shards))

    model, ema = {}, {}
    for step in (1, 2, 3):  # restore each checkpoint into two Keras models: weights in the same order
        net, average = build_wavenet(config.audio, config.model), build_wavenet(config.audio, config.model)
        tf.train.Checkpoint(model=net, ema_model=average).read(
            str(tmp_path / "run" / f"ckpt-{step}")).assert_existing_objects_matched().expect_partial()
        model[step], ema[step] = dict(enumerate(net.get_weights())), dict(enumerate(average.get_weights()))
    assert len(ema[3]) == len(model[3]) > 20
    for step in (2, 3):
        for name, value in ema[step].items():
            np.testing.assert_allclose(value, decay * ema[step - 1][name] + (1 - decay) * model[step][name],
                                       atol=1e-6)
    assert max(np.max(np.abs(ema[3][n] - model[3][n])) for n in ema[3]) > 1e-4  # not just a copy


@pytest.mark.parametrize("folded", [True, False])
def test_exported_vocoder_equals_keras_for_a_fixed_seed(trained, tmp_path, repo_root, folded):
    model_dir, _ = trained
    result = subprocess.run([sys.executable, "-m", "tools.export", "--model=vocoder", f"--model_dir={model_dir}",
                             f"--export_dir={tmp_path / 'exported'}", "--seed=7",
                             "--folded" if folded else "--nofolded"], capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    export_dir = tmp_path / "exported" / "vocoder" / "1"
    assert (export_dir / "assets" / "config.yaml").exists()
    assert (export_dir / "assets.extra" / "tf_serving_warmup_requests").exists()
    config = experiment_config("vocoder", [str(model_dir / "config.yaml")])
    rng = np.random.default_rng(0)
    # folded: 13 frames are several folds of 6 + 2 overlap; plain generation is sample by sample, so fewer
    # frames keep it short (2 x 5 x 200 autoregressive steps in each of the two processes)
    frames, short = (13, 9) if folded else (5, 3)
    mel = rng.normal(-4.0, 1.5, (2, frames, 80)).astype(np.float32)
    lengths = np.array([frames, short], np.int32)
    served = run_saved_model(export_dir, {"mel": mel, "mel_length": lengths}, tmp_path)

    model = build_wavenet(config.audio, config.model)
    tf.train.Checkpoint(ema_model=model).read(tf.train.latest_checkpoint(str(model_dir))).expect_partial()
    keras_side = tf.function(lambda m, n: vocode(model, config, m, n, folded, tf.constant([7, 0])))(mel, lengths)
    np.testing.assert_array_equal(served["audio_length"], [frames * 200, short * 200])
    assert served["audio"].shape == (2, frames * 200)
    np.testing.assert_allclose(served["audio"], keras_side["audio"].numpy(), atol=1e-5)
    assert np.all(served["audio"][1, short * 200:] == 0) and np.std(served["audio"][0]) > 1e-3


def test_griffin_lim_export_serves_the_vocoder_signature(tmp_path, repo_root):
    result = subprocess.run([sys.executable, "-m", "tools.export", "--model=griffin_lim",
                             "--config=configs/vocoder/tiny.yaml", f"--export_dir={tmp_path / 'exported'}"],
                            capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    signature = tf.saved_model.load(str(tmp_path / "exported" / "griffin_lim" / "1")).signatures["serving_default"]
    # The vocoder contract of DESIGN.md: mel f32[B,F,80], mel_length i32[B] -> audio, audio_length (the
    # WaveNet's and HiFi-GAN's declare the same).
    _, inputs = signature.structured_input_signature
    assert {k: (v.dtype, v.shape.as_list()) for k, v in inputs.items()} == {
        "mel": (tf.float32, [None, None, 80]), "mel_length": (tf.int32, [None])}
    assert set(signature.structured_outputs) == {"audio", "audio_length"}

    config = experiment_config("vocoder", ["configs/vocoder/tiny.yaml"])
    wav = np.sin(2 * np.pi * 220 * np.arange(8000) / 16000).astype(np.float32) * 0.5
    mel = features.mel_spectrogram(wav, config.audio).numpy()[None]
    served = run_saved_model(tmp_path / "exported" / "griffin_lim" / "1",
                             {"mel": mel, "mel_length": np.array([mel.shape[1]], np.int32)}, tmp_path)
    reference = features.griffin_lim(tf.constant(mel), config.audio, iterations=32).numpy()
    n = served["audio_length"][0]
    np.testing.assert_allclose(served["audio"][0, :n], reference[0, :n], atol=1e-4)
