import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.config import experiment_config
from tfclone.export.base import ExportError
from tfclone.export.speaker_encoder import export_speaker_encoder
from tfclone.models.speaker_encoder import build_speaker_encoder, embed_utterances

from tests.export.helpers import padded_batch, run_saved_model


@pytest.fixture
def trained_dir(tmp_path, repo_root):
    """A model_dir as training leaves it: config.yaml and a checkpoint (random tiny weights)."""
    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    model = build_speaker_encoder(config.audio, config.model)
    model_dir = tmp_path / "model_dir"
    config.save(str(model_dir / "config.yaml"))
    tf.train.Checkpoint(model=model).save(str(model_dir / "ckpt"))
    return config, model, model_dir


def test_saved_model_without_tfclone_matches_keras(trained_dir, tmp_path, repo_root):
    config, model, model_dir = trained_dir
    result = subprocess.run([sys.executable, "-m", "tools.export", "--model=speaker_encoder",
                             f"--model_dir={model_dir}", f"--export_dir={tmp_path / 'exported'}"],
                            capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    export_dir = tmp_path / "exported" / "speaker_encoder" / "1"
    assert result.stdout.strip().endswith(str(export_dir))
    assert (export_dir / "assets" / "config.yaml").exists()
    assert (export_dir / "assets.extra" / "tf_serving_warmup_requests").stat().st_size > 1000
    wavs = [speech_like(3.3, seed=1), speech_like(1.2, seed=2), speech_like(0.7, seed=3)]
    audio, lengths = padded_batch(wavs)
    served = run_saved_model(export_dir, {"audio": audio, "audio_length": lengths}, tmp_path)["embedding"]
    keras_side = embed_utterances(model, audio, lengths, config.audio, config.model).numpy()
    assert served.shape == (3, 256)
    np.testing.assert_allclose(served, keras_side, atol=1e-5)
    # A second export is version 2; the first stays.
    second = export_speaker_encoder(config, str(model_dir), str(tmp_path / "exported"))
    assert second.endswith(os.path.join("speaker_encoder", "2")) and export_dir.exists()


def test_export_refuses_missing_or_mismatched_checkpoints(trained_dir, tmp_path):
    config, _, model_dir = trained_dir
    with pytest.raises(ExportError, match="no checkpoint to export"):
        export_speaker_encoder(config, str(tmp_path / "empty"), str(tmp_path / "out"))
    bigger = experiment_config("speaker_encoder", [], "model.lstm_layers=3,model.lstm_units=32")
    with pytest.raises(ExportError, match="does not hold every variable"):
        export_speaker_encoder(bigger, str(model_dir), str(tmp_path / "out"))
    assert not (tmp_path / "out" / "speaker_encoder" / "1").exists()
