"""Smoke runs of the speed benchmarks that no other test runs (no timing assertions: figures live in README)."""
import re
import subprocess
import sys


def run(*args):
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_encoder_speed_compares_fused_and_keras_embeddings():
    # The benchmark itself asserts the fused embedding equals the Keras layers' before timing them.
    out = run("benchmarks/encoder_speed.py", "--config=configs/speaker_encoder/tiny.yaml", "--seconds=2",
              "--min_time=0")
    rows = re.findall(r"^(Keras LSTM layers|fused BlockLSTMV2|floor).*?\s([\d.]+)\s+([\d.]+)$", out, re.M)
    assert len(rows) == 3 and all(float(ms) > 0 for _, ms, _ in rows), out
    assert re.search(r"fused vs Keras: [\d.]+x", out), out


def test_wavenet_step_levers_times_every_case():
    out = run("benchmarks/wavenet_step_levers.py", "--config=configs/vocoder/tiny.yaml", "--steps=20", "--batch=2")
    cases = re.findall(r"^(float32|int8 x int8 -> int32|int8 weights, float math|90% pruned, tf.sparse)\s+"
                       r"(plain|XLA)\s+([\d.]+)$", out, re.M)
    assert len(cases) == 7 and all(float(us) > 0 for *_, us in cases), out


def test_vocoder_speed_times_hifigan_and_names_a_broken_torch_python():
    """HiFi-GAN's three cases (float32 plain / XLA, bfloat16) on a short mel, then --torch_python: a Python
    that cannot run the original ends the run with its name, not with a made-up figure."""
    result = subprocess.run([sys.executable, "benchmarks/vocoder_speed.py", "--nowavenet", "--seconds=0.4",
                             "--min_time=0", "--torch_python=/bin/false"], capture_output=True, text=True,
                            timeout=300)
    cases = re.findall(r"^hifigan 0.4 s, batch 1, (plain|XLA|bfloat16, plain)\s+[\d,]+\s+([\d.]+)x", result.stdout,
                       re.M)
    assert [c for c, _ in cases] == ["plain", "XLA", "bfloat16, plain"], result.stdout + result.stderr[-2000:]
    assert all(float(x) > 0 for _, x in cases)
    assert result.returncode != 0 and "--torch_python /bin/false failed" in result.stderr
