import json
import subprocess
import sys

import numpy as np
import tensorflow as tf

from tfclone.config import experiment_config
from tfclone.data import records
from tfclone.export.speaker_encoder import export_speaker_encoder
from tfclone.models.speaker_encoder import build_speaker_encoder, embed_utterances


def test_embed_tool_fills_every_row_with_the_encoders_embedding(local_shards, tmp_path, repo_root):
    import shutil

    shards = tmp_path / "shards"  # the session's shards, their random embeddings removed
    shutil.copytree(local_shards, shards)
    shutil.rmtree(shards / "embeddings")
    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")])
    encoder = build_speaker_encoder(config.audio, config.model)
    model_dir = tmp_path / "encoder"
    config.save(str(model_dir / "config.yaml"))
    tf.train.Checkpoint(model=encoder).save(str(model_dir / "ckpt"))
    export_dir = export_speaker_encoder(config, str(model_dir), str(tmp_path / "exported"))
    result = subprocess.run([sys.executable, "-m", "tools.embed", f"--data_dir={shards}", f"--encoder={export_dir}"],
                            capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in (shards / "manifest.jsonl").read_text().splitlines()]
    sizes = json.loads((shards / "summary.json").read_text())["split_sizes"]
    for split in ("train", "validation", "test"):
        table = np.load(records.embeddings_path(str(shards), split))
        assert table.shape == (sizes[split], 256)  # a row per listed utterance, written or skipped
        mine = [r for r in rows if r["split"] == split]
        assert np.allclose(np.linalg.norm(table[[r["index"] for r in mine]], axis=1), 1.0, atol=1e-5)
    # Spot check one utterance against the Keras encoder.
    row = next(r for r in rows if r["split"] == "train")
    from tfclone.audio import load
    wav = load(row["path"], 16000)
    from tfclone.audio import effects
    wav = effects.trim_silence(wav, 40.0, 800, 200)  # as preprocessing stored it
    expected = embed_utterances(encoder, wav[None], [len(wav)], config.audio, config.model).numpy()[0]
    stored = np.load(records.embeddings_path(str(shards), "train"))[row["index"]]
    np.testing.assert_allclose(stored, expected, atol=1e-3)
    bad = subprocess.run([sys.executable, "-m", "tools.embed", f"--data_dir={shards}", f"--encoder={tmp_path}"],
                         capture_output=True, text=True, cwd=repo_root)
    assert bad.returncode != 0 and "not a SavedModel" in bad.stderr
