"""benchmarks/studio_load.py runs against a studio and prints its parsable last line (a smoke run: the
figures themselves are the benchmark's to report, not a test's)."""
import re
import subprocess
import sys


def test_load_benchmark_smoke_run(studio, reference_wav, repo_root):
    result = subprocess.run([sys.executable, "benchmarks/studio_load.py", f"--url={studio.url}",
                             f"--reference={reference_wav}", "--clients=2", "--requests=1", "--vocoder=griffin_lim"],
                            capture_output=True, text=True, cwd=repo_root, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"studio: ([\d.]+) requests/s with 2 clients \(alone ([\d.]+)\), p95 latency ([\d.]+) s, "
                         r"p95 first audio ([\d.]+) s, refused (\d+)", last)
    assert match, last
    rps, alone, p95, first, _ = (float(g) for g in match.groups())
    assert rps > 0 and alone > 0 and 0 < first <= p95
