"""The quick start end to end in seconds: corpus, the synthesizer fine-tuned on the shipped pieces, exports, a
cloned wav; and a re-run continues training from its last checkpoint."""
import subprocess
import sys

import soundfile as sf

from tfclone.config import experiment_config


def test_quickstart_fine_tunes_the_shipped_synthesizer_and_clones(tmp_path, repo_root):
    """Corpus (local voices), embeddings by the shipped encoder, the demo synthesizer warm-started from its
    shipped weights for one chunk, exported beside the shipped HiFi-GAN, a held-out voice cloned."""
    work = tmp_path / "qs"
    result = subprocess.run([sys.executable, "-m", "tools.quickstart", f"--work_dir={work}", "--minutes=0",
                             "--corpus=local", "--speakers=6", "--utterances=6", "--chunk_steps=3", "--batch_size=4",
                             "--text=Hello there. Bye."],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "synthesizer at step 3" in result.stdout, result.stdout
    assert "starting from pretrained/demo/synthesizer.npz" in result.stdout
    wav, rate = sf.read(str(work / "cloned.wav"))
    assert rate == 22050 and len(wav) > 0.25 * rate  # two sentences and a pause at least
    for name in ("speaker_encoder", "synthesizer", "hifigan"):
        assert (work / "exported" / name / "1" / "saved_model.pb").exists(), name
    assert (work / "exported" / "hifigan" / "1").resolve() == (repo_root / "pretrained/models/hifigan/1").resolve()
    assert (work / "exported" / "models.config").exists()
    assert (work / "runs" / "synthesizer" / "plots" / "alignment_inference.png").exists()
    assert "vocoder hifigan" in result.stdout and "tensorboard --logdir" in result.stdout


def test_a_rerun_continues_training_from_the_last_checkpoint(local_shards, tmp_path, repo_root):
    from tools.quickstart import train_for

    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    model_dir = str(tmp_path / "encoder")
    # Out of time at once: each call trains one chunk and checkpoints.
    assert train_for("speaker_encoder", config, model_dir, str(local_shards), seconds=0, chunk=2) == 2
    assert train_for("speaker_encoder", config, model_dir, str(local_shards), seconds=0, chunk=2) == 4
    assert (tmp_path / "encoder" / "ckpt-4.index").exists()
