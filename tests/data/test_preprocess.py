import json
import os

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.data import records
from tfclone.data.corpora import CorpusLayoutError, Utterance
from tfclone.data.preprocess import PreprocessOptions, assign_splits, preprocess
from tfclone.text import text_to_ids

from tests.conftest import manifest


def folder_corpus(root, speakers=4, per_speaker=3):
    for s in range(speakers):
        for u in range(per_speaker):
            path = root / f"spk{s}" / f"u{u}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), speech_like(1.0 + 0.1 * u, 22050, f0=100 + 20 * s, seed=10 * s + u), 22050)
            (root / f"spk{s}" / f"u{u}.txt").write_text(f"Speaker {s} says sentence {u}.")
    return root


def test_corrupt_files_are_counted_and_skipped(tmp_path):
    corpus = folder_corpus(tmp_path / "corpus")
    (corpus / "spk0" / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 20)
    sf.write(str(corpus / "spk1" / "empty.wav"), np.zeros(0, np.float32), 16000)
    sf.write(str(corpus / "spk2" / "silent.wav"), np.zeros(16000, np.float32), 16000)
    sf.write(str(corpus / "spk3" / "blip.wav"), speech_like(0.2, 16000), 16000)
    (corpus / "spk3" / "blip.txt").write_text("Too short.")
    sf.write(str(corpus / "spk3" / "symbols.wav"), speech_like(1.0, 16000), 16000)
    (corpus / "spk3" / "symbols.txt").write_text("... !!")  # audio kept, text unusable
    out = tmp_path / "shards"
    summary = preprocess(PreprocessOptions("folder", str(corpus), test_speakers=1), str(out), workers=2)
    assert summary["utterances_listed"] == 17
    assert summary["skipped_by_reason"] == {"unreadable": 1, "empty": 1, "silent": 1, "too_short": 1}
    assert summary["warnings_by_reason"] == {"text_unspeakable": 1}
    assert summary["utterances_written"] == 13
    rows = manifest(out)
    assert len(rows) == 13 and {r["split"] for r in rows} >= {"train", "test"}
    assert len({r["speaker"] for r in rows if r["split"] == "test"}) == 1  # one whole held-out speaker
    # The records decode back to the resampled audio, ids and labels of the manifest.
    by_id = {r["utterance_id"]: r for r in rows}
    speakers = json.loads((out / "speakers.json").read_text())
    n = 0
    for path in sorted((out / "tfrecords").rglob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            e = records.parse_example(raw)
            row = by_id[e[records.UTTERANCE_ID].numpy().decode()]
            assert abs(e[records.AUDIO_LENGTH].numpy() / 16000 - row["duration"]) < 1e-3
            assert e[records.SPEAKER_ID].numpy() == speakers[row["speaker"]]["id"]
            assert int(e[records.SAMPLE_RATE]) == 16000
            if row["text"]:
                assert e[records.TOKEN_IDS].numpy().tolist() == text_to_ids(row["text"])
            else:
                assert e["token_length"].numpy() == 0
            n += 1
    assert n == 13
    assert not list(out.rglob(".tmp-*"))  # nothing half-written


def test_rerun_skips_finished_shards_and_resumes_missing_ones(tmp_path):
    corpus = folder_corpus(tmp_path / "corpus")
    out = tmp_path / "shards"
    options = PreprocessOptions("folder", str(corpus), test_speakers=1, utterances_per_shard=2)
    first = preprocess(options, str(out), workers=1)
    shards = sorted((out / "tfrecords").rglob("*.tfrecord"))
    stamps = {p: p.stat().st_mtime_ns for p in shards}
    victim = shards[0]
    os.unlink(str(victim) + ".json")  # as if interrupted before this shard finished
    second = preprocess(options, str(out), workers=1)
    assert second == first
    changed = [p for p in shards if p.stat().st_mtime_ns != stamps[p]]
    assert changed == [victim]
    with pytest.raises(ValueError, match="other options .*sample_rate"):
        preprocess(PreprocessOptions("folder", str(corpus), sample_rate=22050), str(out))


def test_splits_are_stable_when_the_corpus_grows():
    utts = [Utterance(f"s{s}-{u}", "x", f"s{s}", "") for s in range(30) for u in range(20)]
    splits = assign_splits(utts, test_speakers=3, validation_fraction=0.1)
    more = utts + [Utterance(f"s{s}-{u}", "x", f"s{s}", "") for s in range(30) for u in range(20, 25)]
    grown = assign_splits(more, test_speakers=3, validation_fraction=0.1)
    assert all(grown[k] == v for k, v in splits.items())
    assert len({u.speaker for u in utts if splits[u.utterance_id] == "test"}) == 3
    fraction = sum(v == "validation" for v in splits.values()) / len(splits)
    assert 0.05 < fraction < 0.15
    assert set(assign_splits(utts[:20]).values()) <= {"train", "validation"}  # one speaker: none held out


def test_bad_corpus_dir(tmp_path):
    with pytest.raises(CorpusLayoutError, match="does not look like LibriSpeech"):
        preprocess(PreprocessOptions("librispeech", str(tmp_path)), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_tool_reports_bad_layout_and_exits_nonzero(tmp_path, repo_root):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "tools.preprocess", "--corpus=ljspeech",
                             f"--corpus_dir={tmp_path}", f"--out_dir={tmp_path / 'out'}"],
                            capture_output=True, text=True, cwd=repo_root)
    assert result.returncode != 0
    assert f"{tmp_path} does not look like LJSpeech: expected metadata.csv and wavs/" in result.stderr
    assert not (tmp_path / "out").exists()


def local_folder(root, speakers, indices, heldout=()):
    """A tfclone-make-corpus style corpus: <voice>/<voice>_NNNN.wav + manifest.jsonl + speakers.json."""
    rows = []
    for s, name in enumerate(speakers):
        (root / name).mkdir(parents=True, exist_ok=True)
        for n in indices:
            path = f"{name}/{name}_{n:04d}.wav"
            sf.write(str(root / path), speech_like(0.8 + 0.05 * n, 22050, f0=100 + 30 * s, seed=100 * s + n), 22050)
            rows.append({"path": path, "text": f"Voice {s} reads sentence {n}.", "speaker": name})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "speakers.json").write_text(json.dumps({n: {"heldout": n in heldout} for n in speakers}))
    return root


def test_several_corpus_folders_are_read_as_one_corpus(tmp_path):
    voices = ["va", "vb", "vc", "vd"]
    first = local_folder(tmp_path / "first", voices, range(0, 6), heldout=["vd"])
    extension = local_folder(tmp_path / "ext", voices, range(6, 9), heldout=["vd"])
    alone = preprocess(PreprocessOptions("local", str(first), validation_fraction=0.2), str(tmp_path / "a"),
                       workers=1)
    both = preprocess(PreprocessOptions("local", f"{first},{extension}", validation_fraction=0.2),
                      str(tmp_path / "b"), workers=1)
    assert (alone["utterances_written"], both["utterances_written"]) == (24, 36)
    rows = {r["utterance_id"]: r for r in manifest(tmp_path / "b")}
    assert {r["speaker"] for r in rows.values() if r["split"] == "test"} == {"vd"}  # held out by both folders
    assert sum(r["utterance_id"].endswith(("_0006", "_0007", "_0008")) for r in rows.values()) == 12
    # the first folder's utterances keep their splits and speaker ids when the extension joins
    assert {r["utterance_id"]: r["split"] for r in manifest(tmp_path / "a")} == \
        {k: r["split"] for k, r in rows.items() if not k.endswith(("_0006", "_0007", "_0008"))}
    ids = [{k: v["id"] for k, v in json.loads((tmp_path / d / "speakers.json").read_text()).items()} for d in "ab"]
    assert ids[0] == ids[1] == {"va": 0, "vb": 1, "vc": 2, "vd": 3}
    # an utterance in both folders is an error naming both, before anything is written
    local_folder(tmp_path / "overlap", ["vb"], [5])
    with pytest.raises(ValueError, match=f"{first} and {tmp_path / 'overlap'}: utterance id 'vb/vb_0005' appears"):
        preprocess(PreprocessOptions("local", f"{first},{tmp_path / 'overlap'}"), str(tmp_path / "c"))
    assert not (tmp_path / "c").exists()
