"""The quick start end to end at a few seconds per model: corpus, three trainings, exports, a cloned wav."""
import subprocess
import sys

import soundfile as sf


def test_quickstart_runs_the_whole_pipeline(tmp_path, repo_root):
    work = tmp_path / "qs"
    result = subprocess.run([sys.executable, "-m", "tools.quickstart", f"--work_dir={work}", "--minutes=0",
                             "--speakers=10", "--utterances=6", "--chunk_steps=4", "--text=Hello there. Bye."],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    wav, rate = sf.read(str(work / "cloned.wav"))
    assert rate == 16000 and len(wav) > 0.25 * rate  # two sentences and a pause at least
    for name in ("speaker_encoder", "synthesizer", "vocoder", "griffin_lim", "voice_clone"):
        assert (work / "exported" / name / "1" / "saved_model.pb").exists(), name
    assert (work / "exported" / "models.config").exists()
    assert (work / "runs" / "synthesizer" / "plots" / "alignment_inference.png").exists()
    assert "cloned speech:" in result.stdout and "tensorboard --logdir" in result.stdout
