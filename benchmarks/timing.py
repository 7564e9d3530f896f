"""What the speed benchmarks share: `timed`, the mean seconds per call after a first (tracing, compiling) call."""
import time


def timed(fn, *args, min_time: float = 6.0):
    """Calls fn(*args) once to trace / compile, then for at least `min_time` seconds and at least twice;
    returns the mean seconds per call."""
    fn(*args)
    began, calls = time.perf_counter(), 0
    while time.perf_counter() - began < min_time or calls < 2:
        fn(*args)
        calls += 1
    return (time.perf_counter() - began) / calls
