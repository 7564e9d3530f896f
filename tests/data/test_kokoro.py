"""Kokoro-82M as a corpus source: phoneme mapping, splitting, the distinctness filter, and (with the Kokoro
pieces that `scripts/setup.sh --kokoro` fetches, as CI does) a 2-voice x 2-sentence corpus: speech of the
right length at the right rate, intelligible to Whisper, voices told apart by the speaker encoder, blends
kept or rejected by the filter, a re-run that resumes."""
import json
import os

import numpy as np
import pytest
import soundfile

from tfclone.data import kokoro
from tfclone.data.preprocess import PreprocessOptions, assign_splits, corpus_heldout_speakers
from tfclone.eval import judges

PIECES = os.path.join(os.path.dirname(__file__), "..", "..", "pretrained")


def _have_pieces():
    try:
        kokoro.find_pieces(PIECES)
        import onnxruntime  # noqa: F401
        return True
    except (kokoro.KokoroError, ImportError):
        return False


needs_kokoro = pytest.mark.skipif(not _have_pieces(), reason="Kokoro pieces absent from pretrained/ "
                                  "(bash scripts/setup.sh --kokoro fetches them; CI does)")


def test_espeak_ipa_maps_onto_kokoro_symbols():
    us = kokoro.phonemize("the judge chose a joyous boy, how about that?")
    assert us == "ðə ʤˈʌʤ ʧˈOz ə ʤˈYəs bˈY, hˌW əbˌWt ðˈæt?"
    uk = kokoro.phonemize("hello world.", british=True)
    assert uk == "həlˈQ wˈɜːld."
    assert "ː" not in kokoro.phonemize("hello world.")  # no length marks in the US set
    assert kokoro.to_kokoro("bˈʌʔn̩") == "bˈʌtᵊn"


def test_split_phonemes_respects_the_limit_and_prefers_punctuation():
    text = ("ðə kwˈɪk bɹˈWn fˈɑks, " * 40).strip()
    pieces = kokoro.split_phonemes(text, limit=100)
    assert all(len(p) <= 100 for p in pieces) and len(pieces) > 5
    assert all(p.endswith(",") for p in pieces[:-1])
    assert " ".join(pieces).replace("  ", " ") == text
    assert kokoro.split_phonemes("a" * 250, limit=100) == ["a" * 100, "a" * 100, "a" * 50]


def test_select_distinct_keeps_far_blends_and_rejects_near_copies():
    e = {"a": np.array([1.0, 0, 0]), "b": np.array([0, 1.0, 0]),
         "near_a": np.array([1.0, 0.1, 0]), "far": np.array([0.5, 0.5, 1.0]), "near_far": np.array([0.5, 0.5, 0.9])}
    chosen, nearest = kokoro.select_distinct(["near_a", "far", "near_far"], e, ["a", "b"], threshold=0.9)
    assert chosen == ["far"]
    assert nearest["near_a"][1] == "a" and nearest["near_a"][0] > 0.99
    assert nearest["near_far"][1] == "far"  # compared with what was kept before it too


def test_missing_pieces_name_the_file_and_the_command(tmp_path):
    with pytest.raises(kokoro.KokoroError, match=r"kokoro-js-1.2.1.tgz.*setup.sh --kokoro"):
        kokoro.find_pieces(str(tmp_path))


def test_heldout_speakers_from_the_corpus_become_the_test_split(tmp_path):
    (tmp_path / "speakers.json").write_text(json.dumps({"v1": {"heldout": True}, "v2": {"heldout": False},
                                                        "v3": {}}))
    assert corpus_heldout_speakers(str(tmp_path)) == ("v1",)
    from tfclone.data.corpora import Utterance

    utts = [Utterance(f"{s}/{i}", "x.wav", s, "t") for s in ("v1", "v2", "v3") for i in range(5)]
    splits = assign_splits(utts, test_speaker_names=("v1",), validation_fraction=0.0)
    assert {k for k, v in splits.items() if v == "test"} == {f"v1/{i}" for i in range(5)}
    with pytest.raises(ValueError, match="nobody"):
        assign_splits(utts, test_speaker_names=("nobody",))
    assert PreprocessOptions("local", str(tmp_path)).test_speaker_names == ()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tfclone.data.kokoro_corpus import make_kokoro_corpus

    out = tmp_path_factory.mktemp("kokoro_corpus")
    sentences = ["The quiet river ran past the old stone mill.", "Please bring twelve apples to the market today."]
    summary = make_kokoro_corpus(str(out), num_speakers=2, utterances_per_speaker=2, workers=1,
                                 pretrained_dir=PIECES, sentences=sentences, heldout=["kokoro-am_michael"])
    return out, summary, sentences


@needs_kokoro
def test_corpus_is_speech_of_the_right_length_and_rate(corpus):
    out, summary, _ = corpus
    assert summary["failed"] == [] and summary["utterances"] == 4 and summary["speakers"] == 2
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    speakers = json.loads((out / "speakers.json").read_text())
    assert speakers["kokoro-am_michael"]["heldout"] and not speakers["kokoro-af_heart"]["heldout"]
    assert speakers["kokoro-af_heart"]["packs"] == [["af_heart", 1.0]]
    for row in rows:
        info = soundfile.info(str(out / row["path"]))
        assert info.samplerate == 22050 and info.channels == 1 and info.subtype == "PCM_16"
        words = len(row["text"].split())
        assert 0.2 * words < info.duration < 0.7 * words + 1.0, (row, info.duration)  # speech-rate plausible
        assert (out / row["path"]).with_suffix(".txt").read_text().strip() == row["text"]


@needs_kokoro
def test_whisper_understands_the_corpus(corpus):
    from tfclone.eval import asr

    out, _, _ = corpus
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    errors = []
    for row in rows:
        audio, rate = soundfile.read(str(out / row["path"]), dtype="float32")
        errors.append(asr.wer(row["text"], asr.transcribe(audio, rate, "tiny.en")))
    assert np.mean(errors) <= 0.10, errors


@needs_kokoro
def test_speaker_encoder_tells_voices_apart_and_blend_filter(repo_root):
    from tfclone.data.kokoro_corpus import TEST_SENTENCES, voice_embedding
    from tfclone.models.resemblyzer import resemblyzer_embedder

    engine = kokoro.Kokoro(PIECES, threads=2)
    embed = resemblyzer_embedder(str(repo_root / judges.RESEMBLYZER_WHEEL))
    voices = {v.name: v for v in [kokoro.stock_voice("am_fenrir"), kokoro.stock_voice("bm_george"),
                                  kokoro.stock_voice("af_heart")]}
    near = kokoro.KokoroVoice("near-heart", (("af_heart", 0.95), ("af_bella", 0.05)))
    far = kokoro.KokoroVoice("fenrir-george", (("am_fenrir", 0.48), ("bm_george", 0.52)))
    one = TEST_SENTENCES[:1]  # one sentence a voice (the corpus maker averages three)
    embeddings = {name: voice_embedding(engine, embed, v, one) for name, v in {**voices, near.name: near,
                                                                                far.name: far}.items()}
    unit = {k: v / np.linalg.norm(v) for k, v in embeddings.items()}
    assert unit["kokoro-af_heart"] @ unit["kokoro-am_fenrir"] < 0.8  # two stock voices told apart
    chosen, nearest = kokoro.select_distinct([near.name, far.name], embeddings, list(voices), threshold=0.90)
    assert chosen == [far.name], nearest
    assert nearest[near.name][1] == "kokoro-af_heart"


@needs_kokoro
def test_rerun_resumes_without_redoing_finished_utterances(corpus):
    from tfclone.data.kokoro_corpus import make_kokoro_corpus

    out, _, sentences = corpus
    wavs = sorted(out.glob("*/*.wav"))
    before = {p: p.stat().st_mtime_ns for p in wavs}
    wavs[0].unlink()
    summary = make_kokoro_corpus(str(out), num_speakers=2, utterances_per_speaker=2, workers=1,
                                 pretrained_dir=PIECES, sentences=sentences, heldout=["kokoro-am_michael"])
    assert summary["utterances"] == 4 and wavs[0].exists()
    assert all(p.stat().st_mtime_ns == t for p, t in before.items() if p != wavs[0])


def test_a_recorded_voice_selection_stands_in_for_the_embedding_run(tmp_path):
    from tfclone.data.kokoro_corpus import choose_voices, read_selection
    from tfclone.data.make_corpus import CorpusError

    blends = kokoro.blend_candidates(3)
    record = {"threshold": 0.9, "seed": 0, "kept": [blends[0].name, blends[2].name],
              "rejected": {blends[1].name: {"cosine": 0.93, "nearest": "kokoro-af_heart"}},
              "recipes": {b.name: b.recipe() for b in (blends[0], blends[2])}}
    shipped = tmp_path / "selection.json"
    shipped.write_text(json.dumps(record))
    out, empty = tmp_path / "corpus", tmp_path / "no_pieces"  # no Resemblyzer wheel: embedding would fail
    out.mkdir()
    n = len(kokoro.STOCK_VOICES)
    voices = choose_voices(n + 2, str(out), str(empty), selection=str(shipped))
    assert [v.name for v in voices[n:]] == [blends[0].name, blends[2].name]
    assert voices[n] == blends[0]  # packs, weights and speed from the recipe
    assert read_selection(str(out / "voice_selection.json"))["kept"] == record["kept"]  # kept with the corpus
    with pytest.raises(CorpusError, match="Resemblyzer-0.1.4"):  # another threshold: decided afresh
        choose_voices(n + 2, str(tmp_path / "other"), str(empty), threshold=0.8, selection=str(shipped))
    with pytest.raises(CorpusError, match="Resemblyzer-0.1.4"):  # more voices than recorded
        choose_voices(n + 3, str(tmp_path / "more"), str(empty), selection=str(shipped))
    with pytest.raises(CorpusError, match=r"gone.json: cannot read the Kokoro voice selection"):
        choose_voices(n + 2, str(tmp_path / "gone"), str(empty), selection=str(tmp_path / "gone.json"))
    shipped.write_text(json.dumps({**record, "kept": ["kokoro-nobody"]}))
    with pytest.raises(CorpusError, match=r"selection.json: not a Kokoro voice selection record \(KeyError"):
        choose_voices(n + 2, str(tmp_path / "bad"), str(empty), selection=str(shipped))


def test_the_shipped_voice_selection_reads_and_names_seventy_two_voices():
    from tfclone.data.kokoro_corpus import SHIPPED_SELECTION, read_selection

    record = read_selection(SHIPPED_SELECTION)
    assert record["threshold"] == 0.9 and record["seed"] == 0
    assert len(kokoro.STOCK_VOICES) + len(record["kept"]) == 72
    assert len(record["kept"]) + len(record["rejected"]) == 400  # every candidate of blend_candidates(400) tried
    candidates = {c.name: c for c in kokoro.blend_candidates(400, 0)}
    assert all(candidates[name].recipe() == record["recipes"][name] for name in record["kept"])


def test_heldout_voices_speak_only_their_first_sentences(tmp_path):
    from tfclone.data.kokoro_corpus import limit_heldout
    from tfclone.data.make_corpus import CorpusError, sentence_jobs

    train, held = kokoro.stock_voice("af_heart"), kokoro.stock_voice("am_michael")
    jobs = sentence_jobs([train, held], [f"Sentence number {n}." for n in range(44)], 0, 44, 40, str(tmp_path), 22050)
    kept = limit_heldout(jobs, {held.name}, first=40, count=2)
    assert [os.path.basename(j.wav_path) for j in kept if j.voice is held] == ["kokoro-am_michael_0040.wav",
                                                                                "kokoro-am_michael_0041.wav"]
    assert [j for j in kept if j.voice is train] == jobs[:4]  # training voices keep every sentence
    with pytest.raises(CorpusError, match="heldout_utterances: 0"):
        limit_heldout(jobs, {held.name}, first=40, count=0)
