"""tfclone-export --model all: every SavedModel runs the same through saved_model_cli and through
tf.saved_model.load in a process without tfclone; voice_clone equals the three models chained; the serving
config and batching parameters parse with TF Serving's protos."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from google.protobuf import text_format

from tfclone.audio.synthetic import speech_like
from tfclone.serving.config import BatchingParameters
from tfclone.text import text_to_ids
from tfclone.text.symbols import SymbolTable

from tests.export.helpers import run_saved_model
from tests.inference.conftest import padded


def test_layout_assets_and_serving_configs(exported):
    from tensorflow_serving.config import model_server_config_pb2

    for name in ("speaker_encoder", "synthesizer", "vocoder", "griffin_lim", "voice_clone"):
        version = exported / name / "1"
        assert (version / "saved_model.pb").exists() and (version / "assets" / "config.yaml").exists(), name
        assert (version / "assets.extra" / "tf_serving_warmup_requests").stat().st_size > 100, name
    assert SymbolTable.load(str(exported / "voice_clone" / "1" / "assets" / "symbols.txt")) == SymbolTable()
    config = text_format.Parse((exported / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    entries = {c.name: c.base_path for c in config.model_config_list.config}
    assert set(entries) == {"speaker_encoder", "synthesizer", "vocoder", "griffin_lim", "voice_clone"}
    assert all(os.path.isdir(p) and os.path.isabs(p) for p in entries.values())
    batching = text_format.Parse((exported / "batching_parameters.txt").read_text(), BatchingParameters())
    assert batching.max_batch_size.value == 8 and list(batching.allowed_batch_sizes) == [1, 2, 4, 8]
    assert batching.pad_variable_length_inputs


def test_batching_parameters_reject_bad_values():
    from tfclone.serving.config import Batching, ServingConfigError, batching_parameters_text

    with pytest.raises(ServingConfigError, match="allowed_batch_sizes"):
        batching_parameters_text(Batching(max_batch_size=8, allowed_batch_sizes=(1, 4, 2, 8)))
    with pytest.raises(ServingConfigError, match="num_batch_threads"):
        batching_parameters_text(Batching(num_batch_threads=0))
    with pytest.raises(text_format.ParseError):  # the schema is TF Serving's: unknown fields are refused
        text_format.Parse("max_batch_size { value: 8 }\nmax_batch: 3", BatchingParameters())


def inputs_for(name):
    ids, lengths = padded([np.array(text_to_ids(t), np.int32) for t in ("Good morning.", "How are you today?")])
    reference, ref_lengths = padded([speech_like(2.0, 16000, seed=1), speech_like(1.5, 16000, seed=2)])
    mel = np.random.default_rng(0).normal(-4, 1.5, (2, 12, 80)).astype(np.float32)
    return {"speaker_encoder": {"audio": reference, "audio_length": ref_lengths},
            "synthesizer": {"token_ids": ids, "token_length": lengths,
                            "speaker_embedding": np.full([2, 256], 1 / 16, np.float32)},
            "vocoder": {"mel": mel, "mel_length": np.array([12, 7], np.int32)},
            "voice_clone": {"reference_audio": reference[:1], "reference_length": ref_lengths[:1],
                            "token_ids": ids, "token_length": lengths}}[name]


@pytest.mark.parametrize("name", ["speaker_encoder", "synthesizer", "vocoder", "voice_clone"])
def test_saved_model_cli_gives_the_loaded_models_output(exported, tmp_path, name):
    inputs = inputs_for(name)
    loaded = run_saved_model(exported / name / "1", inputs, tmp_path)
    np.savez(tmp_path / "cli_inputs.npz", **inputs)
    cli = shutil.which("saved_model_cli", path=os.path.dirname(sys.executable))
    result = subprocess.run([cli, "run", "--dir", str(exported / name / "1"), "--tag_set", "serve",
                             "--signature_def", "serving_default", "--outdir", str(tmp_path / "cli"),
                             "--inputs", ";".join(f"{k}={tmp_path / 'cli_inputs.npz'}[{k}]" for k in inputs)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for key, value in loaded.items():
        np.testing.assert_allclose(np.load(tmp_path / "cli" / f"{key}.npy"), value, atol=1e-5, err_msg=key)


def test_voice_clone_equals_the_three_models_chained(exported, tmp_path):
    inputs = inputs_for("voice_clone")
    whole = run_saved_model(exported / "voice_clone" / "1", inputs, tmp_path)
    embedding = run_saved_model(exported / "speaker_encoder" / "1",
                                {"audio": inputs["reference_audio"], "audio_length": inputs["reference_length"]},
                                tmp_path)["embedding"]
    mel = run_saved_model(exported / "synthesizer" / "1",
                          {"token_ids": inputs["token_ids"], "token_length": inputs["token_length"],
                           "speaker_embedding": np.repeat(embedding, 2, axis=0)}, tmp_path)
    audio = run_saved_model(exported / "vocoder" / "1", {"mel": mel["mel"], "mel_length": mel["mel_length"]},
                            tmp_path)
    np.testing.assert_allclose(whole["embedding"], embedding, atol=1e-6)
    np.testing.assert_allclose(whole["mel"], mel["mel"], atol=1e-5)
    np.testing.assert_array_equal(whole["audio_length"], audio["audio_length"])
    np.testing.assert_allclose(whole["audio"], audio["audio"], atol=1e-5)
    assert whole["audio"].shape[0] == 2 and np.all(whole["audio_length"] > 0)


def test_clone_speed_benchmark_smoke_run(exported, repo_root, reference_wav):
    """benchmarks/clone_speed.py runs on exported models (no timing assertions; the figures live in README)."""
    result = subprocess.run([sys.executable, "benchmarks/clone_speed.py", f"--models={exported}",
                             f"--reference={reference_wav}", "--smoke"],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert "[vocoder] sentence" in result.stdout and "[griffin_lim] sentence" in result.stdout
    assert "cold tfclone-clone, one sentence (" in result.stdout and "peak memory of this process" in result.stdout
    import re

    assert re.fullmatch(r"chain: RTF [0-9.]+ \([0-9.]+x real time\), first audio [0-9.]+ s, cold start [0-9.]+ s, "
                        r"peak memory [0-9.]+ GiB", lines[-1]), lines[-1]


def test_synthesizer_robustness_benchmark_smoke_run(exported, repo_root, reference_wav):
    """benchmarks/synthesizer_robustness.py reads its sentences through the exported models and prints one
    row per sentence and its summary line (the untrained tiny synthesizer's figures mean nothing)."""
    result = subprocess.run([sys.executable, "benchmarks/synthesizer_robustness.py", f"--models={exported}",
                             f"--reference={reference_wav}", "--limit=2"],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    import re

    lines = result.stdout.strip().splitlines()
    assert len([line for line in lines if line.rstrip().endswith(("Yes.", "Hello."))]) == 2, result.stdout
    assert re.fullmatch(r"robustness: [0-2]/2 stopped before the cap, [0-2]/2 diagonal >= 0\.8, frames per token "
                        r"median [0-9.]+, WER mean -", lines[-1]), lines[-1]


def test_score_clone_mode_runs_on_exported_models(exported, repo_root, tmp_path):
    """tfclone-score clone on the tiny exports: every voice says every sentence through the runner, the
    voices with a transcript are scored as ground truth, the SV-EER is taken over the voices. (CAM++ and
    DNSMOS are skipped for time; tests/eval/test_score.py runs every judge.)"""
    import shutil

    voices = tmp_path / "voices"
    voices.mkdir()
    for name in ("arctic_slt_a0009", "arctic_awb_a0007"):
        shutil.copy(repo_root / "examples" / f"{name}.wav", voices)
    shutil.copy(repo_root / "examples" / "arctic_slt_a0009.txt", voices)  # one ground-truth row
    (tmp_path / "sentences.txt").write_text("Good morning.\nIt is nine o'clock.\n")
    out = tmp_path / "report"
    result = subprocess.run([sys.executable, "-m", "tools.score", "clone", f"--models={exported}",
                             f"--voices={voices}", f"--sentences={tmp_path / 'sentences.txt'}", f"--out={out}",
                             "--whisper=tiny.en", "--skip=dnsmos,campplus"],
                            capture_output=True, text=True, cwd=repo_root, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    systems = summary["systems"]
    assert set(systems) == {"ground truth", "clone (vocoder)"} and summary["items"] == 5, systems.keys()
    clones = systems["clone (vocoder)"]
    assert clones["items"] == 4 and clones["figures"]["wer"]["n"] == 4
    assert clones["figures"]["similarity_resemblyzer"]["n"] == 4
    assert clones["sv_eer_resemblyzer"]["pairs"] == 8  # 4 clones x 2 reference voices
    assert "sv_eer_campplus" not in clones and summary["judges"]["campplus"] == "absent: skipped by request"
    assert systems["ground truth"]["figures"]["wer"]["mean"] <= 0.1  # real speech, heard by Whisper tiny.en
    assert len(list((out / "wavs").rglob("*.wav"))) == 4 and (out / "index.html").is_file()


def test_score_vocoder_items_keep_two_exports_of_one_model_apart(exported, reference_wav, tmp_path):
    """tfclone-score vocoder with the same model twice (e.g. float32 and bfloat16 exports of HiFi-GAN): each
    is its own system with its own wavs, not one overwriting the other's files."""
    from tfclone.audio import io
    from tfclone.eval.score import vocoder_items

    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(reference_wav, clips / "voice.wav")
    (clips / "voice.txt").write_text("a voice")
    items = vocoder_items([str(exported / "griffin_lim" / "1"), str(exported / "griffin_lim" / "1")], str(clips),
                          str(tmp_path / "report"), griffin_lim_iterations=2)
    systems = [i for i in items if i.system.startswith("griffin_lim") and "mel)" not in i.system]
    assert [s.system for s in systems] == ["griffin_lim", f"griffin_lim ({exported / 'griffin_lim' / '1'})"]
    assert systems[0].audio != systems[1].audio
    assert all(len(io.load(s.audio, 16000)) > 16000 for s in systems)
