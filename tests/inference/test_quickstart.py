"""The quick start end to end at a few seconds per model: corpus, three trainings, exports, a cloned wav."""
import subprocess
import sys

import soundfile as sf


def test_quickstart_runs_the_whole_pipeline_and_a_rerun_continues(tmp_path, repo_root):
    work = tmp_path / "qs"

    def quickstart():
        return subprocess.run([sys.executable, "-m", "tools.quickstart", f"--work_dir={work}", "--minutes=0",
                               "--speakers=10", "--utterances=6", "--chunk_steps=4", "--text=Hello there. Bye."],
                              capture_output=True, text=True, cwd=repo_root, timeout=900)

    result = quickstart()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "steps trained: speaker_encoder 4, synthesizer 4, vocoder 4" in result.stdout, result.stdout
    wav, rate = sf.read(str(work / "cloned.wav"))
    assert rate == 16000 and len(wav) > 0.25 * rate  # two sentences and a pause at least
    for name in ("speaker_encoder", "synthesizer", "vocoder", "griffin_lim", "voice_clone"):
        assert (work / "exported" / name / "1" / "saved_model.pb").exists(), name
    assert (work / "exported" / "models.config").exists()
    assert (work / "runs" / "synthesizer" / "plots" / "alignment_inference.png").exists()
    assert "cloned speech:" in result.stdout and "tensorboard --logdir" in result.stdout
    # A re-run in the same folder continues each training from its last checkpoint (one more chunk here).
    again = quickstart()
    assert again.returncode == 0, again.stderr[-3000:]
    assert "steps trained: speaker_encoder 8, synthesizer 8, vocoder 8" in again.stdout, again.stdout
