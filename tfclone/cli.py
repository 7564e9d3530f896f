"""What every tfclone tool does at start-up (tools/*.py call `run_tool(main, __name__)`):

- `--help` lists the tool's own flags with their help text. absl lists the "key flags" of the main module,
  which for a console script is the generated wrapper, not tools/<tool>.py; the tool's flags are made key
  flags of the wrapper too, and its docstring becomes the usage text.
- TensorFlow's start-up noise (a GPU-less machine's "failed call to cuInit" error line, CUDA stubs, oneDNN
  notes) stays out of the output unless the user asks for it with --verbosity: C++ logging at level 3, and the Python loggers of TensorFlow and the libraries under
  it at WARNING. tfclone's own progress lines (absl logging) are kept.
"""
from __future__ import annotations

import contextlib
import os
import sys


NOISY_LOGGERS = ("tensorflow", "keras", "faster_whisper", "matplotlib", "h5py", "numba", "urllib3")


def _verbosity_asked(argv) -> bool:
    return any(a.startswith(("--verbosity", "-v=", "--v=")) or a == "-v" for a in argv[1:])


# Before anything imports TensorFlow (tools import this module first): C++ start-up logging off by default.
if not _verbosity_asked(sys.argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _only_our_info(record) -> bool:
    return record.levelno >= 30 or not any(part in record.pathname for part in _LIBRARY_PATHS)


_LIBRARY_PATHS = (f"{os.sep}tensorflow{os.sep}", f"{os.sep}keras{os.sep}", f"{os.sep}tf_keras{os.sep}")


# Imported by Keras at TensorFlow's import (`import tensorflow` loads Keras 3) for features tfclone never uses,
# plot_image_gallery and the scikit-learn wrappers, each behind `except ImportError`: 1.2-1.5 s of a tool's
# start on 2 cores (python -X importtime). A tool's TensorFlow import goes without them; tfclone's own
# plots import matplotlib later as usual.
UNUSED_BY_KERAS = ("matplotlib", "sklearn")


@contextlib.contextmanager
def _without(modules):
    """Within: `import m` (and its submodules) raises ImportError for each of `modules` not yet imported."""
    blocked = [m for m in modules if m not in sys.modules]
    for m in blocked:
        sys.modules[m] = None
    try:
        yield
    finally:
        for m in blocked:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def _import_tensorflow_quietly() -> None:
    """TensorFlow writes its start-up lines (CUDA stubs, cuInit on a machine without a GPU) straight to file
    descriptor 2 while it loads and finds its devices, before any log level applies: that happens here
    with fd 2 pointed at /dev/null. Real errors come later and are shown."""
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        with _without(UNUSED_BY_KERAS):
            import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


XLA_CACHE_FLAG = "--tf_xla_persistent_cache_directory"


def xla_cache_directory() -> str:
    """Where XLA programs compiled by the inference tools are kept between processes: $TFCLONE_XLA_CACHE
    (empty: off), else ~/.cache/tfclone/xla/tf-<version> (XDG_CACHE_HOME respected), one folder per
    TensorFlow version so a program is never read back by another build."""
    if "TFCLONE_XLA_CACHE" in os.environ:
        return os.environ["TFCLONE_XLA_CACHE"]
    from importlib import metadata

    try:
        version = metadata.version("tensorflow")
    except metadata.PackageNotFoundError:
        version = "unknown"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfclone", "xla", f"tf-{version}")


def use_xla_cache() -> str:
    """Turns on TensorFlow's persistent XLA compilation cache (must run before TensorFlow is imported), so
    a second tfclone-clone process reads HiFi-GAN's and the WaveNet's compiled programs instead of
    compiling them again. A TF_XLA_FLAGS that already names a cache directory wins. Returns the folder
    ("" when off)."""
    flags_now = os.environ.get("TF_XLA_FLAGS", "")
    if XLA_CACHE_FLAG in flags_now:
        return flags_now.split(XLA_CACHE_FLAG + "=", 1)[-1].split()[0]
    directory = xla_cache_directory()
    if not directory:
        return ""
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return ""  # a read-only home: compile as usual
    os.environ["TF_XLA_FLAGS"] = f"{flags_now} {XLA_CACHE_FLAG}={directory}".strip()
    return directory


_QUIET = {"asked": False}  # set by run_tool: import TensorFlow quietly (import_tensorflow)


def _quiet_loggers() -> None:
    import logging as python_logging

    for name in NOISY_LOGGERS:
        python_logging.getLogger(name).setLevel(python_logging.WARNING)
    # TensorFlow and Keras also log INFO lines through absl's logger, which carries ours too.
    python_logging.getLogger("absl").addFilter(_only_our_info)


def import_tensorflow():
    """TensorFlow, imported now if it is not yet: quietly inside a tool that defers the import
    (run_tool(..., tensorflow_at_start=False)), so its start-up lines stay out of the output there too."""
    if "tensorflow" not in sys.modules and _QUIET["asked"]:
        _import_tensorflow_quietly()
        _quiet_loggers()
    with _without(UNUSED_BY_KERAS):
        import tensorflow as tf

    return tf


def _exit_now(code) -> None:
    """End the process with `code` without Python's teardown: output and logs flushed first."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            pass
    os._exit(code)


def run_tool(main, module_name: str, xla_cache: bool = False, tensorflow_at_start: bool = True,
             fast_exit: bool = False) -> None:
    """`xla_cache`: the tool runs exported models: keep their compiled XLA programs between processes.
    `tensorflow_at_start=False`: the tool imports TensorFlow only when it needs it (tfclone.inference's local
    backend does, through import_tensorflow), so checks of its inputs answer before the ~4 s import.
    `fast_exit`: once main has returned (its files written and closed), the process ends at once instead of
    tearing down the loaded SavedModels, which takes TensorFlow 1.2-1.5 s (tfclone-clone on 2 cores)."""
    from absl import app, flags

    if xla_cache:
        use_xla_cache()
    quiet = not _verbosity_asked(sys.argv)
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    else:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
    module = sys.modules[module_name]
    main_module = sys.modules.get("__main__")
    if main_module is not None and main_module is not module:
        main_module.__doc__ = module.__doc__
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)

    if any(a in ("--help", "-h", "-?", "--helpshort") for a in sys.argv[1:]):
        app.usage(shorthelp=True, writeto_stdout=True, exitcode=0)  # absl's own --help exits 1

    def start(argv):
        if quiet and tensorflow_at_start:
            _import_tensorflow_quietly()
            _quiet_loggers()
        _QUIET["asked"] = quiet
        code = main(argv)
        if fast_exit:
            _exit_now(code or 0)
        return code

    app.run(start)
