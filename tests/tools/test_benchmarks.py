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
