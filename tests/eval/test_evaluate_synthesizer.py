"""tfclone-evaluate --model synthesizer: a weights file scored by the tool equals the task's split loss of the
same weights in process, with its pictures and audio; bad input names itself and writes nothing."""
import json
import subprocess
import sys

import numpy as np

from tfclone.config import experiment_config
from tfclone.export.base import restore_model
from tfclone.tasks.synthesizer import SynthesizerTask
from tfclone.training.weights import save_weights


def evaluate(repo_root, *flags):
    return subprocess.run([sys.executable, "-m", "tools.evaluate", "--model=synthesizer", *flags],
                          capture_output=True, text=True, cwd=repo_root, timeout=300)


def test_evaluate_tool_scores_a_synthesizer_weights_file(local_shards, model_dirs, tmp_path, repo_root):
    model_dir = model_dirs["synthesizer"]
    config = experiment_config("synthesizer", [str(model_dir / "config.yaml")])
    task = SynthesizerTask(config)
    model = task.build_model()
    restore_model(model, str(model_dir))
    weights = tmp_path / "synthesizer.npz"
    save_weights(model, str(weights), dtype="float32")
    expected = task.split_losses(model, str(local_shards), "test", max_batches=0)

    out = tmp_path / "eval"
    result = evaluate(repo_root, f"--weights={weights}", f"--config={model_dir / 'config.yaml'}",
                      f"--data_dir={local_shards}", "--split=test", f"--out_dir={out}")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["weights"] == str(weights)
    for name in ("loss", "mel_loss", "postnet_mel_loss", "stop_loss"):  # same weights, same batches
        np.testing.assert_allclose(metrics[name], expected[name], rtol=1e-5)
    assert 0.0 <= metrics["alignment_focus"] <= 1.0 and metrics["stop_length_error"] >= 0.0
    for png in ("alignment_teacher_forced", "alignment_inference", "mel_target", "mel_inference"):
        assert (out / f"{png}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    empty = tmp_path / "no_shards"
    empty.mkdir()
    bad = evaluate(repo_root, f"--model_dir={model_dir}", f"--data_dir={empty}", f"--out_dir={tmp_path / 'bad'}")
    assert bad.returncode != 0 and f"{empty}: no validation batch" in bad.stderr, bad.stderr[-2000:]
    assert not (tmp_path / "bad" / "metrics.json").exists()
