import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfclone.config import experiment_config
from tfclone.eval.speaker_verification import equal_error_rate, min_dcf
from tfclone.models.speaker_encoder import build_speaker_encoder


def brute_force_eer(scores, labels):
    """EER by scanning every threshold: the point where |FRR - FAR| is smallest, averaged."""
    best = None
    for t in np.concatenate([[np.inf], np.sort(scores)[::-1]]):
        frr = np.mean(scores[labels] < t) if t != np.inf else 1.0
        far = np.mean(scores[~labels] >= t) if t != np.inf else 0.0
        if best is None or abs(frr - far) < best[0]:
            best = (abs(frr - far), (frr + far) / 2)
    return best[1]


def test_eer_known_values():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    assert equal_error_rate(np.array([.9, .8, .7, .6, .4, .3, .2, .1]), labels) == 0.0  # separable
    assert equal_error_rate(np.array([.1, .2, .3, .4, .6, .7, .8, .9]), labels) == 1.0  # inverted
    assert equal_error_rate(np.array([.9, .8, .7, .3, .6, .2, .1, .0]), labels) == pytest.approx(0.25)
    rng = np.random.default_rng(0)
    labels = rng.uniform(size=2000) < 0.2
    scores = rng.normal(size=2000) + 1.5 * labels
    assert abs(equal_error_rate(scores, labels) - brute_force_eer(scores, labels)) < 0.01
    # Two unit-variance Gaussians 1.5 apart: EER = Phi(-0.75) = 0.2266.
    assert abs(equal_error_rate(scores, labels) - 0.2266) < 0.03
    assert 0.0 < min_dcf(scores, labels) <= 1.0 and min_dcf(np.array([.9, .1]), np.array([True, False])) == 0.0
    with pytest.raises(ValueError, match="both target and non-target"):
        equal_error_rate(np.array([.5, .6]), np.array([True, True]))


def test_evaluate_tool_writes_metrics_and_plots(local_shards, tmp_path, repo_root):
    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    model = build_speaker_encoder(config.audio, config.model)
    model_dir = tmp_path / "model_dir"
    config.save(str(model_dir / "config.yaml"))
    tf.train.Checkpoint(model=model).save(str(model_dir / "ckpt"))
    result = subprocess.run([sys.executable, "-m", "tools.evaluate", "--model=speaker_encoder",
                             f"--model_dir={model_dir}", f"--data_dir={local_shards}"],
                            capture_output=True, text=True, cwd=repo_root, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    assert metrics["speakers"] == 2 and metrics["utterances"] == 16 and 0.0 <= metrics["eer"] <= 1.0
    for png in ("det.png", "projection.png"):
        assert (model_dir / "eval" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([sys.executable, "-m", "tools.evaluate", "--model=speaker_encoder",
                          f"--model_dir={tmp_path / 'nothing'}", f"--data_dir={local_shards}"],
                         capture_output=True, text=True, cwd=repo_root)
    assert bad.returncode != 0 and "not a tfclone model_dir" in bad.stderr
