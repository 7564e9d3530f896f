"""tfclone-clone and tfclone.inference.Cloner against the exported SavedModels: sentences batched and
joined with pauses, --stream, the Python API equal to the end-to-end SavedModel, and every bad input a
one-line error naming it, a non-zero exit and no output file."""
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile as sf

from tfclone.audio import io
from tfclone.audio.synthetic import speech_like
from tfclone.inference import CloneError, Cloner
from tfclone.text.split import split_sentences

from tests.conftest import free_port
from tests.export.helpers import run_saved_model

TEXT = "Good morning, Doctor Smith. The meeting starts at 3.30 today! Are you coming?"
SPOKEN = "Hi, Dr. Smith. It is 3.30 now! Ok?"  # three short sentences: the tiny WaveNet vocodes sample by sample


def clone(repo_root, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "tools.clone", *args], capture_output=True, text=True,
                          cwd=repo_root, timeout=timeout)


def test_split_sentences():
    assert split_sentences(TEXT) == ["Good morning, Doctor Smith.", "The meeting starts at 3.30 today!",
                                     "Are you coming?"]
    assert split_sentences("Dr. Jones met Mr. Brown. Then they left.") == ["Dr. Jones met Mr. Brown.",
                                                                           "Then they left."]
    long = ", ".join(["a fairly long clause of words"] * 12) + "."
    pieces = split_sentences(long, max_chars=80)
    assert len(pieces) > 1 and all(len(p) <= 80 for p in pieces)
    assert " ".join(pieces).replace(",,", ",") == long


def test_cloner_equals_the_voice_clone_saved_model(exported, reference_wav, tmp_path):
    cloner = Cloner(str(exported), pause_seconds=0.1)
    pieces = list(cloner.clone_sentences(str(reference_wav), SPOKEN))
    assert [s for s, _ in pieces] == split_sentences(SPOKEN)
    sentences = cloner.sentences(SPOKEN)
    ids = np.zeros([3, max(len(i) for _, i in sentences)], np.int32)
    for row, (_, i) in enumerate(sentences):
        ids[row, :len(i)] = i
    reference = io.load(str(reference_wav), 16000)
    whole = run_saved_model(exported / "voice_clone" / "1",
                            {"reference_audio": reference[None], "reference_length": np.array([len(reference)], np.int32),
                             "token_ids": ids, "token_length": np.array([len(i) for _, i in sentences], np.int32)},
                            tmp_path)
    for row, (_, wav) in enumerate(pieces):
        np.testing.assert_allclose(wav, whole["audio"][row, :whole["audio_length"][row]], atol=1e-5)
    joined = cloner.clone(str(reference_wav), SPOKEN)
    assert len(joined) == sum(len(w) for _, w in pieces) + 2 * int(0.1 * cloner.sample_rate)


def test_clone_tool_writes_the_joined_sentences(exported, reference_wav, tmp_path, repo_root):
    out = tmp_path / "speech.wav"
    result = clone(repo_root, f"--reference={reference_wav}", f"--text={SPOKEN}", f"--out={out}",
                   f"--models={exported}", "--pause=0.2")
    assert result.returncode == 0, result.stderr[-2000:]
    wav, rate = sf.read(str(out))
    expected = Cloner(str(exported), pause_seconds=0.2).clone(str(reference_wav), SPOKEN)
    assert rate == 16000 and len(wav) == len(expected) and "3 sentence(s)" in result.stdout
    np.testing.assert_allclose(wav, expected, atol=1e-4)  # 16-bit file


def test_clone_tool_streams_each_sentence(exported, reference_wav, tmp_path, repo_root):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line here.\nSecond line here.\n")
    out = tmp_path / "streamed.wav"
    result = clone(repo_root, f"--reference={reference_wav}", f"--text_file={lines}", f"--out={out}",
                   f"--models={exported}", "--stream", "--vocoder=griffin_lim")
    assert result.returncode == 0, result.stderr[-2000:]
    parts = sorted(tmp_path.glob("streamed-*.wav"))
    assert [p.name for p in parts] == ["streamed-001.wav", "streamed-002.wav"]
    assert result.stdout.index("streamed-001.wav") < result.stdout.index("streamed-002.wav")
    total = sum(len(sf.read(str(p))[0]) for p in parts)
    assert len(sf.read(str(out))[0]) == total + int(0.25 * 16000)


def test_stream_pieces_join_to_the_clone_and_out_dash_streams_a_wav(exported, reference_wav, repo_root):
    """Cloner.stream gives each sentence's audio in order (one piece each with a non-convolutional vocoder;
    HiFi-GAN's growing pieces are held to the whole in tests/models/test_hifigan.py and test_shipped.py);
    `--out -` writes them to stdout as a WAV stream that decodes to the same samples."""
    cloner = Cloner(str(exported), vocoder="griffin_lim", pause_seconds=0.2)
    pieces = list(cloner.stream(str(reference_wav), SPOKEN))
    assert [n for n, _ in pieces] == [0, 1, 2]
    joined = cloner.join([p for _, p in pieces])
    expected = cloner.join([w for _, w in cloner.clone_sentences(str(reference_wav), SPOKEN, batch=1)])
    np.testing.assert_allclose(joined, expected, atol=1e-5)
    result = subprocess.run([sys.executable, "-m", "tools.clone", f"--reference={reference_wav}", f"--text={SPOKEN}",
                             "--out=-", f"--models={exported}", "--vocoder=griffin_lim", "--pause=0.2"],
                            capture_output=True, cwd=repo_root, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout[:4] == b"RIFF" and result.stdout[36:40] == b"data"
    samples = np.frombuffer(result.stdout[44:], "<i2").astype(np.float32) / 32767.0
    assert len(samples) == len(joined)
    np.testing.assert_allclose(samples, np.clip(joined, -1, 1), atol=2 / 32767)
    assert b"3 sentence(s)" in result.stderr
    bad = subprocess.run([sys.executable, "-m", "tools.clone", f"--reference={reference_wav}", "--text=...",
                          "--out=-", f"--models={exported}"], capture_output=True, cwd=repo_root, timeout=600)
    assert bad.returncode == 2 and bad.stdout == b"" and b"nothing speakable" in bad.stderr


def test_piece_rows_are_handed_out_first_and_change_nothing(exported, reference_wav):
    """synthesize_rows(piece_rows=...) (the studio's streamed first sentence): the same mels, alignments and
    lengths as without, and the pieces handed to on_piece join to that row's audio."""
    cloner = Cloner(str(exported), vocoder="griffin_lim")
    embedding = cloner.embed(str(reference_wav))
    ids = [i for _, i in cloner.sentences(SPOKEN)]
    speakers = np.repeat(embedding[None], len(ids), axis=0)
    plain = cloner.synthesize_rows(speakers, ids)
    handed = []
    pieced = cloner.synthesize_rows(speakers, ids, piece_rows=[1], on_piece=lambda row, a: handed.append((row, a)))
    assert [row for row, _ in handed] == [1]  # Griffin-Lim: one piece (HiFi-GAN's: test_shipped.py)
    np.testing.assert_array_equal(handed[0][1], pieced[1].audio)
    alone = cloner.vocode(pieced[1].mel[None], [len(pieced[1].mel)])["audio"][0]  # Griffin-Lim's random start
    np.testing.assert_allclose(pieced[1].audio, alone, atol=1e-5)  # phase depends on the batch: compare alone
    for p, q in zip(plain, pieced):
        np.testing.assert_array_equal(q.mel, p.mel)
        np.testing.assert_array_equal(q.alignment, p.alignment)
        assert len(q.audio) == len(p.audio)


def write(path, samples, rate=16000, subtype="PCM_16"):
    sf.write(str(path), samples, rate, subtype=subtype)
    return path


@pytest.fixture(scope="module")
def bad_models(exported, tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_models")
    missing = root / "missing_synthesizer"
    shutil.copytree(exported, missing)
    shutil.rmtree(missing / "synthesizer")
    mismatched = root / "mismatched"
    shutil.copytree(exported, mismatched)
    config = mismatched / "vocoder" / "1" / "assets" / "config.yaml"
    config.write_text(config.read_text().replace("hop_length: 200", "hop_length: 256"))
    return {"missing": missing, "mismatched": mismatched}


CASES = {  # (arguments given, text of the one error line)
    "missing reference": (lambda d: ["--reference=" + str(d / "nope.wav")], "nope.wav: no such file"),
    "unreadable reference": (lambda d: ["--reference=" + str(d / "junk.wav")], "junk.wav: unreadable audio"),
    "empty reference": (lambda d: ["--reference=" + str(write(d / "empty.wav", np.zeros(0)))], "empty audio"),
    "silent reference": (lambda d: ["--reference=" + str(write(d / "silent.wav", np.zeros(32000)))], "silent"),
    "short reference": (lambda d: ["--reference=" + str(write(d / "short.wav", speech_like(0.3, seed=1)))],
                        "too short"),
    "non-finite reference": (lambda d: ["--reference=" + str(write(d / "nan.wav", np.full(32000, np.nan, np.float32),
                                                                  subtype="FLOAT"))], "NaN or Inf"),
    "empty text": (lambda d: ["--text=   "], "text: empty"),
    "unspeakable text": (lambda d: ["--text=?! ... -- ;"], "nothing speakable"),
    "models dir missing a model": (lambda d: ["--models=" + str(d.bad["missing"])], "no exported synthesizer"),
    "mismatched presets": (lambda d: ["--models=" + str(d.bad["mismatched"])], "hop_length 200 vs 256"),
    "no models dir": (lambda d: ["--models=" + str(d / "nowhere")], "nowhere: no such folder"),
    "unreachable rest server": (lambda d: [f"--server=127.0.0.1:{free_port()}", "--protocol=rest"],
                                "unreachable over REST"),
    "unreachable grpc server": (lambda d: [f"--server=127.0.0.1:{free_port()}", "--protocol=grpc"],
                                "unreachable over gRPC"),
}
# Run as tfclone-clone processes: one case of each kind of input (reference, text, models, server), for the
# tool's contract (one line, exit 2, nothing written); every case runs through the Cloner in this process.
TOOL_CASES = ("unreadable reference", "unspeakable text", "mismatched presets", "unreachable grpc server")


class CaseDir(type(__import__("pathlib").Path())):
    bad = None


def case_dir(tmp_path_factory, bad_models):
    folder = CaseDir(tmp_path_factory.mktemp("bad_input"))
    folder.bad = bad_models
    (folder / "junk.wav").write_bytes(b"RIFF not really a wav file")
    return folder


def case_args(case, folder, reference_wav, exported):
    args = {"--reference": f"--reference={reference_wav}", "--text": "--text=Hello there.",
            "--models": f"--models={exported}"}
    for arg in CASES[case][0](folder):
        args[arg.split("=")[0]] = arg
    return {k: v.split("=", 1)[1] for k, v in args.items()}


@pytest.fixture(scope="module")
def bad_input_runs(exported, reference_wav, bad_models, tmp_path_factory, repo_root):
    """Runs tfclone-clone once per TOOL_CASES case, two processes at a time (each mostly waits on
    TensorFlow's import): {case: (completed process, output folder)}."""
    from concurrent.futures import ThreadPoolExecutor

    def one(case):
        folder = case_dir(tmp_path_factory, bad_models)
        out = folder / "out" / "speech.wav"
        out.parent.mkdir()
        args = case_args(case, folder, reference_wav, exported)
        return clone(repo_root, *[f"{k}={v}" for k, v in args.items()], f"--out={out}"), out.parent

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(TOOL_CASES, pool.map(one, TOOL_CASES)))


@pytest.mark.parametrize("case", TOOL_CASES)
def test_bad_input_is_one_clear_line_and_leaves_nothing(case, bad_input_runs):
    result, out_dir = bad_input_runs[case]
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("tfclone-clone: error:")]
    assert len(errors) == 1 and CASES[case][1] in errors[0], result.stderr[-1500:]
    assert list(out_dir.iterdir()) == []  # no output, no temporary, no parts


def test_bad_input_is_reported_before_tensorflow_is_imported(repo_root, tmp_path):
    """tfclone-clone defers TensorFlow's import (~4 s) to its first model load: a wrong path or unspeakable
    text answers at once."""
    driver = ("import sys; import tools.clone as tool\n"
              "try:\n    tool.run()\nexcept SystemExit as e:\n    print('exit', e.code, 'tensorflow' in sys.modules)")
    for args in (["--reference=nope.wav", "--text=Hello."], ["--reference=examples/arctic_slt_a0009.wav", "--text=?!"]):
        result = subprocess.run([sys.executable, "-c", driver, *args, f"--out={tmp_path / 'x.wav'}"],
                                capture_output=True, text=True, cwd=repo_root, timeout=120)
        assert result.stdout.strip() == "exit 2 False", (result.stdout, result.stderr[-2000:])
        assert result.stderr.count("tfclone-clone: error:") == 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_cloner_names_each_bad_input_before_loading_a_model(case, exported, reference_wav, bad_models,
                                                            tmp_path_factory):
    """What tfclone-clone does with its flags (tools/clone.py): the error raised is the one line it prints."""
    args = case_args(case, case_dir(tmp_path_factory, bad_models), reference_wav, exported)
    cloner = None
    with pytest.raises(CloneError) as raised:
        cloner = Cloner(args["--models"], args.get("--server"), args.get("--protocol", "grpc"), preload=False)
        cloner.clone(args["--reference"], args["--text"])
    assert CASES[case][1] in str(raised.value) and "\n" not in str(raised.value)
    if cloner is not None and not args.get("--server"):  # a local Cloner was made: nothing loaded
        assert cloner.backend.loaded() == []


def test_cloner_api_rejects_bad_arrays(exported):
    cloner = Cloner(str(exported), preload=False)  # as tfclone-clone: bad input is found before any load
    with pytest.raises(CloneError, match="reference audio: audio contains NaN"):
        cloner.clone((np.full(32000, np.inf, np.float32), 16000), "Hello.")
    with pytest.raises(CloneError, match="too short"):
        cloner.clone((speech_like(0.2, seed=0), 16000), "Hello.")
    with pytest.raises(CloneError, match="nothing speakable"):
        cloner.clone((speech_like(2.0, seed=0), 16000), "?! --")
    assert cloner.backend.loaded() == []
    wav = cloner.clone((speech_like(2.0, 22050, seed=0), 22050), "Hello.")  # resampled to 16 kHz for the encoder
    assert wav.dtype == np.float32 and len(wav) > 0


def test_vocoder_loads_in_the_background_while_the_first_sentence_decodes(exported, reference_wav, monkeypatch):
    """Cloner(preload=False) (tfclone-clone): the vocoder's SavedModel loads in a thread begun before the first
    decode (LocalBackend.prefetch), the other two in the caller's, and the clone equals one made with every
    model loaded up front."""
    from tfclone.inference import backends

    threads = {}
    real_load = backends.LocalBackend._load

    def recording_load(self, name, path):
        threads[name] = threading.current_thread().name
        return real_load(self, name, path)

    monkeypatch.setattr(backends.LocalBackend, "_load", recording_load)
    lazy = Cloner(str(exported), preload=False)
    wav = lazy.clone(str(reference_wav), "Hello there.")
    main = threading.current_thread().name
    assert threads == {"speaker_encoder": main, "synthesizer": main, lazy.vocoder: f"load-{lazy.vocoder}"}
    assert lazy.backend.loaded() == ["speaker_encoder", lazy.vocoder, "synthesizer"]
    np.testing.assert_allclose(wav, Cloner(str(exported)).clone(str(reference_wav), "Hello there."), atol=1e-5)


def test_xla_off_decodes_through_the_plain_signature_to_the_same_clone(exported, reference_wav):
    """Cloner(xla=False) (tfclone-clone) runs the synthesizer's `plain` signature, the XLA-less decode of
    the same outputs; the other models their serving_default."""
    plain = Cloner(str(exported), xla=False, vocoder="griffin_lim")
    compiled = Cloner(str(exported), vocoder="griffin_lim")
    assert plain.backend.signature_run == {"speaker_encoder": "serving_default", "synthesizer": "plain",
                                           "griffin_lim": "serving_default"}
    assert compiled.backend.signature_run["synthesizer"] == "serving_default"
    embedding = compiled.embed(str(reference_wav))
    ids = [i for _, i in compiled.sentences("Hello there.")]
    a, b = plain.decode(embedding[None], ids), compiled.decode(embedding[None], ids)  # batch 1: XLA in `compiled`
    np.testing.assert_array_equal(a["mel_length"], b["mel_length"])
    np.testing.assert_allclose(a["mel"], b["mel"], atol=1e-4)


def test_a_failed_background_load_is_raised_where_the_model_is_used(tmp_path):
    from tfclone.inference.backends import LocalBackend

    backend = LocalBackend({}, export_base=str(tmp_path), preload=False)
    backend.prefetch("hifigan")  # nothing exported there: no error yet
    for _ in range(2):  # and the same error at every use: a failed load is forgotten, each use tries again
        with pytest.raises(CloneError, match="hifigan"):
            backend.run("hifigan", {"mel": np.zeros([1, 4, 80], np.float32)})
        assert backend.loaded() == []
