"""Every console script in setup.py answers --help with its own flags and their help text, exit 0, and
without TensorFlow's start-up noise."""
import os
import re
import subprocess
import sys

import pytest
from tests.conftest import repo_root_path

SETUP = (repo_root_path() / "setup.py").read_text()
SCRIPTS = re.findall(r'"(tfclone-[\w-]+)=(tfclone\.tools\.\w+):run"', SETUP)


def test_every_tool_is_listed():
    assert len(SCRIPTS) == len([p for p in os.listdir(repo_root_path() / "tools")
                                if p.endswith(".py") and p != "__init__.py"])


@pytest.mark.parametrize("script,module", SCRIPTS, ids=[s for s, _ in SCRIPTS])
def test_help_lists_the_tools_own_flags(script, module):
    executable = os.path.join(os.path.dirname(sys.executable), script)
    assert os.path.isfile(executable), f"{executable}: not installed (pip install -e .)"
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    source = (repo_root_path() / "tools" / (module.rsplit(".", 1)[1] + ".py")).read_text()
    # flags.DEFINE_<kind>("name", default, "help ..." -- the first words of the help text must be shown
    own = re.findall(r'flags\.DEFINE_\w+\(\s*"(\w+)",.*?,\s*(?:\[[^\]]*\],\s*)?(?:f?"([^"]*)")', source, re.S)
    assert own, module
    shown = " ".join(result.stdout.split())
    for name, help_text in own:
        assert f"--{name}" in result.stdout or f"--[no]{name}" in result.stdout, (script, name)
        first_words = " ".join(help_text.split()[:3])
        assert first_words in shown, (script, name, first_words)
    assert "cuInit" not in result.stdout + result.stderr
