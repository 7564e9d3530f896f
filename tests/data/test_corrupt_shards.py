"""Training survives bad data: a shard with 64 flipped bytes is named by tfclone-preprocess --verify (exit 1);
data.on_corrupt=fail stops tfclone-train with one line naming the file, exit 2, after a checkpoint of the last
completed step, and a re-run after preprocessing rewrote the shard resumes from it; on_corrupt=skip finishes
the requested steps and reports what it skipped; a missing shard is reported by name."""
import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tfclone.data import verify
from tfclone.data.pipeline import DataError, plan_shards


@pytest.fixture
def shards(local_shards, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(local_shards, out)
    return out


def biggest_train_shard(shards):
    return max((shards / "tfrecords" / "train").glob("*.tfrecord"), key=lambda p: p.stat().st_size)


def corrupt(path, count=64):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def train(shards, model_dir, repo_root, steps, overrides=""):
    params = (f"train.train_steps={steps},train.checkpoint_every=2,train.summary_every=2,train.eval_every=100000,"
              "data.shuffle_buffer=8" + ("," + overrides if overrides else ""))
    # the tiny speaker encoder: the quickest model to start; every model reads shards the same way
    return subprocess.run([sys.executable, "-m", "tools.train", "--model=speaker_encoder",
                           "--config=configs/speaker_encoder/tiny.yaml", f"--data_dir={shards}",
                           f"--model_dir={model_dir}", f"--params_override={params}"],
                          capture_output=True, text=True, cwd=repo_root, timeout=600)


def preprocess_tool(repo_root, *args):
    return subprocess.run([sys.executable, "-m", "tools.preprocess", *args], capture_output=True, text=True,
                          cwd=repo_root, timeout=600)


def test_verify_names_the_damaged_shard(shards, repo_root):
    bad = biggest_train_shard(shards)
    count = len(json.loads((bad.parent / (bad.name + ".json")).read_text())["rows"])
    corrupt(bad)
    report = verify.verify(str(shards), progress=False, use_cache=False)
    assert [p.shard for p in report["problems"]] == [str(bad)]
    problem = report["problems"][0]
    assert problem.problem == "corrupted" and 0 < problem.first_bad < count
    assert problem.skipped_records == count - problem.first_bad
    assert verify.damaged_shards(str(shards)) == [str(bad)]  # what a re-run of preprocessing rewrites


def test_fail_stops_with_one_line_and_a_checkpoint_then_resumes_after_repair(shards, tmp_path, repo_root):
    model_dir = tmp_path / "run"
    assert train(shards, model_dir, repo_root, 4).returncode == 0
    bad = biggest_train_shard(shards)
    corrupt(bad)
    result = train(shards, model_dir, repo_root, 8)
    assert result.returncode == 2, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"tfclone-train: error: {re.escape(str(bad))}: corrupted record \d+ \(run tfclone-preprocess "
                        rf"--verify {re.escape(str(shards))}\); checkpoint of step \d+ written to .*", last), last
    assert "Traceback" not in result.stderr
    stopped = int(re.search(r"checkpoint of step (\d+)", last).group(1))
    assert stopped >= 4 and tf.train.latest_checkpoint(str(model_dir)).endswith(f"ckpt-{stopped}")
    # repair: verification names and records the damage, a re-run of preprocessing rewrites that shard
    verified = preprocess_tool(repo_root, f"--verify={shards}")
    assert verified.returncode == 1
    lines = verified.stdout.strip().splitlines()
    assert re.match(rf"{re.escape(str(bad))}: corrupted at record \d+", lines[0]) and "1 damaged shard(s)" in lines[-1]
    options = json.loads((shards / "preprocess.json").read_text())
    rerun = preprocess_tool(repo_root, f"--corpus={options['corpus']}", f"--corpus_dir={options['corpus_dir']}",
                            f"--out_dir={shards}", f"--test_speakers={options['test_speakers']}",
                            f"--validation_fraction={options['validation_fraction']}",
                            f"--utterances_per_shard={options['utterances_per_shard']}")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert verify.verify(str(shards), progress=False, use_cache=False)["problems"] == []
    resumed = train(shards, model_dir, repo_root, 8)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert re.search(rf"resumed from .*ckpt-{stopped} at step {stopped}", resumed.stderr)
    assert "step 8 loss" in resumed.stdout
    assert not list((shards / "tfrecords").glob("*/.tmp-*"))


def test_skip_finishes_and_reports_what_it_skipped(shards, tmp_path, repo_root):
    from tfclone.config import experiment_config
    from tfclone.tasks import build_task
    from tfclone.training.trainer import Trainer

    bad = biggest_train_shard(shards)
    corrupt(bad)
    config = experiment_config("speaker_encoder", [str(repo_root / "configs/speaker_encoder/tiny.yaml")],
                               "train.train_steps=6,train.checkpoint_every=2,train.summary_every=2,"
                               "train.eval_every=100000,data.shuffle_buffer=8,data.on_corrupt=skip")
    result = Trainer(build_task("speaker_encoder", config), str(tmp_path / "run")).train(str(shards))
    assert result.step == 6 and np.isfinite(result.metrics["loss"])
    assert len(result.data_problems) == 1 and result.data_problems[0].startswith(f"{bad}: corrupted at record ")
    events = list((tmp_path / "run" / "train").glob("events.out.tfevents.*"))
    values = {}
    for event in tf.compat.v1.train.summary_iterator(str(events[0])):
        for v in event.summary.value:
            if v.tag.startswith("data/"):
                values[v.tag] = float(tf.make_ndarray(v.tensor))
    plan = plan_shards(str(shards), "train", "skip")
    assert values == {"data/skipped_shards": 1.0, "data/skipped_records": float(plan.skipped_records)}
    assert plan.skipped_records > 0 and plan.takes[plan.paths.index(str(bad))] == plan.problems[0].first_bad


def test_missing_shard_is_named(shards, repo_root, tmp_path):
    gone = sorted((shards / "tfrecords" / "train").glob("*.tfrecord"))[0]
    gone.unlink()
    with pytest.raises(DataError, match=re.escape(str(gone)) + ": shard missing"):
        plan_shards(str(shards), "train", "fail")
    report = verify.verify(str(shards), progress=False)
    assert [(p.shard, p.problem) for p in report["problems"]] == [(str(gone), "missing")]
    assert str(gone) not in plan_shards(str(shards), "train", "skip").paths
