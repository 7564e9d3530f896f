"""Each reader on a tiny tree built here in that corpus's real file layout and metadata format."""
import os

import pytest
import soundfile as sf

from tfclone.audio.synthetic import speech_like
from tfclone.data.corpora import CorpusLayoutError, read_corpus


def wav(path, seconds=0.6, rate=16000, fmt=None, seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(str(path), speech_like(seconds, rate, seed=seed), rate, format=fmt)


def test_ljspeech(tmp_path):
    (tmp_path / "metadata.csv").write_text(
        "LJ001-0001|Printing, in the only sense|Printing, in the only sense\n"
        "LJ001-0002|in 1878 it was|in eighteen seventy-eight it was\n")
    for i in (1, 2):
        wav(tmp_path / "wavs" / f"LJ001-000{i}.wav", rate=22050)
    utts = read_corpus("ljspeech", str(tmp_path))
    assert [u.utterance_id for u in utts] == ["LJ001-0001", "LJ001-0002"]
    assert utts[1].text == "in eighteen seventy-eight it was"  # the normalized column
    assert {u.speaker for u in utts} == {"ljspeech"} and all(os.path.isfile(u.path) for u in utts)


def test_librispeech(tmp_path):
    chapter = tmp_path / "103" / "1240"
    (chapter).mkdir(parents=True)
    (chapter / "103-1240.trans.txt").write_text("103-1240-0000 CHAPTER ONE MISSUS RACHEL\n103-1240-0001 THAT HAD ITS SOURCE\n")
    for i in range(2):
        wav(chapter / f"103-1240-000{i}.flac", fmt="FLAC")
    utts = read_corpus("librispeech", str(tmp_path))
    assert [(u.utterance_id, u.speaker) for u in utts] == [("103-1240-0000", "103"), ("103-1240-0001", "103")]
    assert utts[0].text == "CHAPTER ONE MISSUS RACHEL" and utts[0].path.endswith(".flac")


def test_libritts(tmp_path):
    chapter = tmp_path / "19" / "198"
    chapter.mkdir(parents=True)
    (chapter / "19_198_000000_000000.normalized.txt").write_text("This is a test.")
    (chapter / "19_198_000000_000000.original.txt").write_text("This is a test.")
    wav(chapter / "19_198_000000_000000.wav", rate=24000)
    (utt,) = read_corpus("libritts", str(tmp_path))
    assert (utt.speaker, utt.text) == ("19", "This is a test.")


@pytest.mark.parametrize("layout", ["0.80", "0.92"])
def test_vctk(tmp_path, layout):
    for speaker in ("p225", "p226"):
        (tmp_path / "txt" / speaker).mkdir(parents=True)
        for n in ("001", "002"):
            (tmp_path / "txt" / speaker / f"{speaker}_{n}.txt").write_text("Please call Stella.\n")
            if layout == "0.80":
                wav(tmp_path / "wav48" / speaker / f"{speaker}_{n}.wav", rate=48000)
            else:
                for mic in ("mic1", "mic2"):
                    wav(tmp_path / "wav48_silence_trimmed" / speaker / f"{speaker}_{n}_{mic}.flac", rate=48000,
                        fmt="FLAC")
    (tmp_path / "txt" / "p315").mkdir()
    (tmp_path / "txt" / "p315" / "p315_001.txt").write_text("No audio for this one.")
    utts = read_corpus("vctk", str(tmp_path))
    assert len(utts) == 4 and {u.speaker for u in utts} == {"p225", "p226"}
    if layout == "0.92":
        assert all(u.path.endswith("_mic1.flac") for u in utts)
        assert all(u.path.endswith("_mic2.flac") for u in read_corpus("vctk", str(tmp_path), mic="mic2"))


def test_commonvoice(tmp_path):
    (tmp_path / "clips").mkdir()
    header = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment\n"
    rows = ["abc123\tcommon_voice_en_1.mp3\tHello there.\t2\t0\t\t\t\ten\t\n",
            "def456\tcommon_voice_en_2.mp3\tA \"quoted\" word.\t2\t0\t\t\t\ten\t\n"]
    (tmp_path / "validated.tsv").write_text(header + "".join(rows))
    for i in (1, 2):
        wav(tmp_path / "clips" / f"common_voice_en_{i}.mp3", rate=48000, fmt="MP3")
    utts = read_corpus("commonvoice", str(tmp_path))
    assert [(u.speaker, u.text) for u in utts] == [("abc123", "Hello there."), ("def456", 'A "quoted" word.')]


def test_voxceleb(tmp_path):
    for speaker, video in (("id10001", "1zcIwhmdeo4"), ("id10002", "0_laIeN-Q44")):
        wav(tmp_path / "wav" / speaker / video / "00001.wav")
    utts = read_corpus("voxceleb", str(tmp_path))
    assert [u.speaker for u in utts] == ["id10001", "id10002"] and all(u.text == "" for u in utts)


def test_folder_and_local(tmp_path):
    wav(tmp_path / "alice" / "a1.wav")
    (tmp_path / "alice" / "a1.txt").write_text("Hi.")
    wav(tmp_path / "bob" / "b1.flac", fmt="FLAC")
    (tmp_path / "bob" / "notes.md").write_text("not audio")
    utts = read_corpus("folder", str(tmp_path))
    assert [(u.utterance_id, u.speaker, u.text) for u in utts] == [("alice/a1", "alice", "Hi."), ("bob/b1", "bob", "")]
    (tmp_path / "manifest.jsonl").write_text('{"path": "alice/a1.wav", "text": "hi.", "speaker": "alice"}\n')
    (local,) = read_corpus("local", str(tmp_path))
    assert local.path == str(tmp_path / "alice" / "a1.wav")


@pytest.mark.parametrize("corpus,expected", [
    ("ljspeech", "metadata.csv"), ("librispeech", "trans.txt"), ("libritts", "normalized.txt"),
    ("vctk", "txt/"), ("commonvoice", "validated.tsv"), ("voxceleb", "id<speaker>"),
    ("folder", "<speaker>/<utterance>.wav"), ("local", "manifest.jsonl")])
def test_wrong_layout_says_what_was_expected(tmp_path, corpus, expected):
    (tmp_path / "random.txt").write_text("nothing here")
    with pytest.raises(CorpusLayoutError) as e:
        read_corpus(corpus, str(tmp_path))
    assert str(tmp_path) in str(e.value) and expected in str(e.value)
    with pytest.raises(CorpusLayoutError, match="does not exist"):
        read_corpus(corpus, str(tmp_path / "missing"))
    with pytest.raises(CorpusLayoutError, match="unknown corpus"):
        read_corpus("timit", str(tmp_path))
