"""What every tfclone tool does at start-up (tools/*.py call `run_tool(main, __name__)`):

- `--help` lists the tool's own flags with their help text. absl lists the "key flags" of the main module,
  which for a console script is the generated wrapper, not tools/<tool>.py; the tool's flags are made key
  flags of the wrapper too, and its docstring becomes the usage text.
- TensorFlow's start-up noise (a GPU-less machine's "failed call to cuInit" error line, CUDA stubs, oneDNN
  notes) stays out of the output unless the user asks for it with --verbosity (or sets
  TF_CPP_MIN_LOG_LEVEL): C++ logging at level 3, and the Python loggers of TensorFlow and the libraries under
  it at WARNING. tfclone's own progress lines (absl logging) are kept.
"""
from __future__ import annotations

import os
import sys


NOISY_LOGGERS = ("tensorflow", "keras", "faster_whisper", "matplotlib", "h5py", "numba", "urllib3")


def _verbosity_asked(argv) -> bool:
    return any(a.startswith(("--verbosity", "-v=", "--v=")) or a == "-v" for a in argv[1:])


def run_tool(main, module_name: str) -> None:
    from absl import app, flags

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
        if quiet:
            import logging as python_logging

            for name in NOISY_LOGGERS:
                python_logging.getLogger(name).setLevel(python_logging.WARNING)
        return main(argv)

    app.run(start)
