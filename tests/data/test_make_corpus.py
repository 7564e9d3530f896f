import hashlib

import numpy as np
import pytest

from tfclone.audio import load
from tfclone.audio.features import mel_spectrogram
from tfclone.config import synthesis_audio
from tfclone.data import make_corpus as mc
from tfclone.data.sentences import asterisk_transcripts, composed_sentences, sentence_pool
from tfclone.text import text_to_ids, text_to_symbols


def test_voice_list_has_40_plus_distinct_speakers_mixing_engines():
    voices = mc.default_voices()
    assert len(voices) >= 40 and len({v.name for v in voices}) == len(voices)
    assert len({(v.engine, v.voice, v.pitch_cents, v.tempo, v.espeak_pitch, v.espeak_speed) for v in voices}) == len(voices)
    assert {v.engine for v in voices[:6]} == {"flite", "festival", "espeak-ng"}


def test_sentences_are_varied_and_speakable():
    pool = sentence_pool(seed=0)
    assert len(pool) >= 600 and len(set(pool)) == len(pool)
    assert composed_sentences(50, seed=1) == composed_sentences(50, seed=1) != composed_sentences(50, seed=2)
    assert any("?" in s for s in pool) and any("$" in s or "£" in s for s in pool)
    for s in pool[::25]:
        text_to_ids(s)  # raises if nothing speakable
    prompts = asterisk_transcripts()
    assert prompts["digits/7"] == "seven" and len(prompts) > 500
    assert all("[" not in t and "(" not in t for t in prompts.values())
    assert not any(name.startswith("silence/") for name in prompts)  # they say nothing
    broad = sentence_pool(seed=0, pool="broad")
    assert broad[:len(pool)] == pool  # the broad pool extends the prompts pool
    with pytest.raises(ValueError, match="unknown"):
        sentence_pool(seed=0, pool="wide")


def test_wordnet_sentences_are_many_plain_and_apart_from_the_judged_ones(repo_root):
    from tfclone.text.g2p import _cmudict

    sentences = sentence_pool(seed=0, pool="wordnet")
    words = {w.strip(",.?!-'").lower() for s in sentences for w in s.split()}
    # ~4x the broad pool's sentences over ~2.4x its words (23,056 over 19,250 with wordnet-base 3.0)
    assert len(sentences) > 20000 and len(words) > 15000 and len(set(sentences)) == len(sentences)
    assert words <= set(_cmudict()) | {""}
    assert all(5 <= len(s.split()) <= 18 and s[0].isupper() and s[-1] in ".?!" for s in sentences)
    judged = (repo_root / "examples" / "sentences.txt").read_text().splitlines()
    broad, wordnet = set(sentence_pool(seed=0, pool="broad")), set(sentences)
    assert not [s for s in judged if s in broad or s in wordnet]  # tfclone-score clone's sentences stay unseen
    assert len(broad & wordnet) < 100  # an extension in the wordnet pool brings new sentences


def test_wordnet_sentences_filter(tmp_path):
    from tfclone.data.sentences import wordnet_sentences

    (tmp_path / "data.noun").write_text(
        '  1 This software and database is provided "as is" under the licence below.\n'
        '00001740 03 n 01 church 0 000 | a building for worship; "the church was empty"; "a quiet church"\n'
        '00001741 03 n 01 shot 0 000 | a firing; "A shot rang out across the valley!"; "he said: go away now"\n'
        '00001742 03 n 01 x 0 000 | a gloss with no example at all\n'
        '00001743 03 n 01 y 0 000 | "the zzyzxq word is not in it"; "one -- two three four five"\n')
    assert wordnet_sentences(str(tmp_path), ["data.noun"], min_words=4) == [
        "A shot rang out across the valley!", "The church was empty."]
    with pytest.raises(FileNotFoundError, match="install Debian's wordnet-base"):
        wordnet_sentences(str(tmp_path), ["data.verb"])


def test_fortune_sentences_are_plain_prose_in_the_lexicon():
    from tfclone.data.sentences import fortune_sentences
    from tfclone.text.g2p import _cmudict

    sentences = fortune_sentences()
    words = {w.strip(",.?!-'").lower() for s in sentences for w in s.split()}
    assert len(sentences) > 4000 and len(words) > 6000  # the prompts pool has ~20 shapes over a few hundred words
    lexicon = _cmudict()
    assert words <= set(lexicon) | {""}
    assert all(5 <= len(s.split()) <= 18 and s[0].isupper() and s[-1] in ".?!" for s in sentences)
    assert not [s for s in sentences if any(c in s for c in ':;()"')]
    for s in sentences[::500]:
        assert "@" in "".join(text_to_symbols(s))  # phonemes, not spelled letters


def test_fortune_sentences_filter(tmp_path):
    from tfclone.data.sentences import fortune_sentences

    (tmp_path / "a").write_text("The quick brown fox jumps over the lazy dog. NO SHOUTING HERE ever again.\n"
                                "\t-- Somebody Famous\n%\nHe said: go away now please.\n%\nToo short.\n%\n"
                                "A cat sat on a warm mat today!\n%\nThe zzyzxq word is not in the dictionary.\n")
    assert fortune_sentences(str(tmp_path), ["a"]) == ["A cat sat on a warm mat today!"]
    with pytest.raises(FileNotFoundError, match="install Debian's fortunes"):
        fortune_sentences(str(tmp_path), ["a", "b"])


def test_corpus_layout_transcripts_and_distinct_speakers(local_corpus):
    speakers = sorted(p.name for p in local_corpus.iterdir() if p.is_dir())
    assert len(speakers) == 12
    rows = [line for line in (local_corpus / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 96
    cfg = synthesis_audio()
    means, labels = [], []
    for i, speaker in enumerate(speakers):
        wavs = sorted((local_corpus / speaker).glob("*.wav"))
        assert len(wavs) == 8
        for w in wavs:
            assert w.with_suffix(".txt").read_text().strip()  # a transcript beside every wav
            audio = load(str(w))  # 16 kHz, readable, not silent
            means.append(mel_spectrogram(audio, cfg).numpy().mean(axis=0))
            labels.append(i)
    # Distinct voices: leave-one-out nearest-centroid on mean log-mel identifies the speaker >= 80%.
    means, labels = np.array(means), np.array(labels)
    correct = 0
    for j in range(len(means)):
        keep = np.arange(len(means)) != j
        centroids = np.stack([means[keep & (labels == s)].mean(0) for s in range(12)])
        correct += int(np.argmin(np.linalg.norm(centroids - means[j], axis=1)) == labels[j])
    assert correct / len(means) >= 0.8, correct / len(means)


def test_forty_speakers_with_transcripts_through_the_tool(tmp_path, repo_root):
    import subprocess
    import sys
    out = tmp_path / "corpus40"
    result = subprocess.run([sys.executable, "-m", "tools.make_corpus", f"--out_dir={out}", "--speakers=40",
                             "--utterances=1"], capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"speakers": 40' in result.stdout and '"failed": 0' in result.stdout
    speakers = [p for p in out.iterdir() if p.is_dir()]
    assert len(speakers) == 40
    for folder in speakers:
        (wav,) = folder.glob("*.wav")
        assert wav.with_suffix(".txt").read_text().strip()


def test_deterministic_and_resumable(tmp_path):
    voices = mc.default_voices()[:3]
    a = mc.make_corpus(str(tmp_path / "a"), 3, 2, seed=5, voices=voices, workers=1)
    b = mc.make_corpus(str(tmp_path / "b"), 3, 2, seed=5, voices=voices, workers=2)
    assert a["utterances"] == b["utterances"] == 6

    def digest(root):
        return sorted(hashlib.md5(p.read_bytes()).hexdigest() for p in root.rglob("*.wav"))
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "a").rglob("*.wav")}
    again = mc.make_corpus(str(tmp_path / "a"), 3, 2, seed=5, voices=voices)
    assert again["utterances"] == 6 and all(p.stat().st_mtime_ns == t for p, t in stamp.items())


def test_a_corpus_grows_by_the_sentences_a_smaller_one_lacks(tmp_path):
    pool = sentence_pool(0)
    forty, eighty = (mc.drawn_sentences(pool, "0-kokoro-af_heart", n) for n in (40, 80))
    assert eighty[:40] == forty and len({t for _, t in eighty}) == 80  # a smaller draw is a prefix
    assert mc.drawn_sentences(pool, "0-kokoro-af_heart", 80, first=40) == eighty[40:]
    voices = mc.default_voices()[:2]
    whole = mc.make_corpus(str(tmp_path / "whole"), 2, 3, seed=5, voices=voices, workers=1)
    tail = mc.make_corpus(str(tmp_path / "tail"), 2, 3, seed=5, voices=voices, workers=1, first_utterance=2)
    assert whole["utterances"] == 6 and tail["utterances"] == 2
    names = sorted(p.relative_to(tmp_path / "tail") for p in (tmp_path / "tail").rglob("*.wav"))
    assert [p.name for p in names] == [f"{v.name}_0002.wav" for v in voices]
    for p in names:  # the same sentence, spoken the same, as the whole corpus's third
        assert (tmp_path / "tail" / p).read_bytes() == (tmp_path / "whole" / p).read_bytes()
    with pytest.raises(mc.CorpusError, match="first_utterance: 3 is outside the 3 sentences"):
        mc.make_corpus(str(tmp_path / "bad"), 2, 3, voices=voices, first_utterance=3)


def test_missing_packages_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no synthesizer on PATH
    with pytest.raises(mc.CorpusError, match=r"missing Debian packages: .*espeak-ng.*flite.*sox"):
        mc.make_corpus(str(tmp_path / "out"), 4, 2)
    assert not (tmp_path / "out").exists()


def test_asterisk_import(tmp_path):
    summary = mc.import_asterisk(str(tmp_path), limit=12)
    assert summary["utterances"] == 12 and summary["speakers"] == 1
    rows = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert len(rows) == 12
    for wav in (tmp_path / "asterisk-allison").glob("*.wav"):
        audio = load(str(wav), 16000)
        assert 0.2 < len(audio) / 16000 < 30 and np.max(np.abs(audio)) > 0.05
        assert wav.with_suffix(".txt").read_text().strip()
