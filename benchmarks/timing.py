"""What the speed benchmarks share: `timed`, the mean seconds per call after a first (tracing, compiling) call,
and `machine`, the line that says which CPU the figures are from (they differ by machine several-fold: the
same 2-vCPU kind has come with AVX2 only and with AVX-512 + bfloat16)."""
import os
import time

# The instruction-set extensions that decide TensorFlow's and XLA's speed on a CPU, as /proc/cpuinfo names them.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def timed(fn, *args, min_time: float = 6.0):
    """Calls fn(*args) once to trace / compile, then for at least `min_time` seconds and at least twice;
    returns the mean seconds per call."""
    fn(*args)
    began, calls = time.perf_counter(), 0
    while time.perf_counter() - began < min_time or calls < 2:
        fn(*args)
        calls += 1
    return (time.perf_counter() - began) / calls


def machine(cpuinfo: str = "/proc/cpuinfo") -> str:
    """'2 CPUs, AMD EPYC (family 26), avx2 fma avx512f avx512_bf16 ...': the CPU model and the listed
    extensions it has (from /proc/cpuinfo; only the CPU count where that file is missing)."""
    cpus = f"{os.cpu_count()} CPUs"
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return cpus
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())  # the first processor's entry
    flags = set(fields.get("flags", "").split())
    model = fields.get("model name", "unknown CPU")
    family = f" (family {fields['cpu family']})" if "cpu family" in fields else ""
    return f"{cpus}, {model}{family}, " + (" ".join(f for f in ISA_FLAGS if f in flags) or "none of " + "/".join(ISA_FLAGS))
