#!/usr/bin/env bash
# One-command set-up on a fresh Debian machine with Python 3.11: Debian packages (libsndfile, the speech
# synthesizers that make the local corpus, the Asterisk prompts corpus), then a virtual environment at
# $VENV (default .venv) with tfclone and all its extras installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

DEBIAN_PACKAGES=(
  libsndfile1 sox espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  asterisk-core-sounds-en asterisk-core-sounds-en-g722
)
missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[serving,eval,dev]"

# Resemblyzer's pretrained GE2E encoder (Apache-2.0), read by tfclone-import-resemblyzer without torch.
RESEMBLYZER_WHEEL=pretrained/Resemblyzer-0.1.4-py3-none-any.whl
if [ ! -f "$RESEMBLYZER_WHEEL" ]; then
  echo "setup: fetching the resemblyzer 0.1.4 wheel (pretrained speaker encoder weights) into pretrained/"
  "$VENV/bin/python" -m pip download -q --no-deps resemblyzer==0.1.4 -d pretrained
fi
echo "setup: done. Activate with: source $VENV/bin/activate"
