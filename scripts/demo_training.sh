#!/usr/bin/env bash
# Train the demo synthesizer (issue 17) in a work folder outside the repository, from whatever is there:
#   bash scripts/demo_training.sh WORK_DIR HOURS [extra tfclone-train flags]
# Each stage is skipped when its output exists, so a machine handed back as it was resumes training at once
# and a fresh one rebuilds first (on a 2-core Zen 4 ~1.2 s an utterance: ~100 min for 80 sentences a voice,
# ~50 min for UTTERANCES=40):
#   1. the corpus: $SPEAKERS Kokoro voices (default 60) x $UTTERANCES sentences (default 80) + the Asterisk speaker,
#      22.05 kHz (WORK/corpus/kokoro; a corpus of fewer sentences per voice, or of fewer voices, is extended: its
#      sentences come first; SPEAKERS up to 72 reads the shipped voice selection, the 400 blend candidates
#      hold no more voices at the 0.90 threshold)
#      POOL=broad draws the sentences from the broad pool (tfclone-make-corpus --sentence_pool broad: + ~5,500
#      sentences of prose from Debian's fortunes; corpus kokoro-broad, shards natural-broad-x...); the held-out voices
#      speak only their first sentence (HELDOUT_UTTERANCES, default 1: their reference clip), a third less rendering
#      FIRST=40 speaks only sentences 40.. of each voice's draw: the ones the shipped synthesizer, trained on
#      the first 40, never heard (a session whose work folder is new can train on fresh sentences sooner)
#      EXTEND=N (with EXTEND_POOL, default wordnet: WordNet's ~23,000 usage examples) gives every voice N more
#      sentences from that pool, in their own folder ($CORPUS-$EXTEND_POOL-from$UTTERANCES, Kokoro voices only,
#      indices $UTTERANCES..), preprocessed together with the corpus: a pool the corpus has mostly drawn
#      (the broad pool's ~5,500 at x120) still gives new sentences, and the corpus itself is kept as it is
#   2. shards (held-out voices in the test split) and Resemblyzer embeddings
#      (WORK/shards/natural-x$UTTERANCES, or natural-x$UTTERANCES-from$FIRST; -s$SPEAKERS when not 60)
#   3. the held-out voices' reference clips for tfclone-score clone --voices            (WORK/eval/heldout)
#   4. training: resumes WORK/runs/$RUN (default synth_r2; resumed on a grown corpus it keeps its optimizer state
#      and reads the new shards afresh), else starts from pretrained/demo/synthesizer.npz;
#      a checkpoint holds one architecture, so a config change (r was 3 until 25,500 steps, in synth_natural3)
#      takes a new RUN: a fresh RUN starts from the npz (--init_weights_partial fits what changed)
# A run warm-started from the npz should pass a low learning rate (--params_override train.learning_rate=1e-4,...):
# the config's 1e-3 is for a model from scratch and held validation flat at ~12k steps (README, session 17).
# It runs from a copy of the code (WORK/code, refreshed at each start): a running job never sees edits of the
# working tree. Needs `bash scripts/setup.sh --kokoro`. Stop it with SIGTERM: it checkpoints first.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
W=${1:?usage: demo_training.sh WORK_DIR HOURS [tfclone-train flags]}
HOURS=${2:?usage: demo_training.sh WORK_DIR HOURS [tfclone-train flags]}
shift 2
PY=${PY:-$REPO/.venv/bin/python}
RUN=${RUN:-synth_r2}
mkdir -p "$W"
W=$(cd "$W" && pwd)
if pgrep -f "model_dir $W/runs/$RUN" >/dev/null; then
  echo "demo_training: a training job on $W/runs/$RUN is running; stop it first (kill -TERM)" >&2
  exit 2
fi
rm -rf "$W/code" && mkdir -p "$W/code"
git -C "$REPO" archive HEAD | tar -x -C "$W/code"
cd "$W/code"
export PYTHONPATH="$W/code"
P="$REPO/pretrained"

SPEAKERS=${SPEAKERS:-60}
# 13 sentences a voice left validation flat at 1.50, 40 brought it to 1.27, where it is flat again (README)
UTTERANCES=${UTTERANCES:-80}
FIRST=${FIRST:-0}
POOL=${POOL:-prompts}
HELDOUT_UTTERANCES=${HELDOUT_UTTERANCES:-1}
EXTEND=${EXTEND:-0}
EXTEND_POOL=${EXTEND_POOL:-wordnet}
SHARDS="$W/shards/natural-x$UTTERANCES"
CORPUS="$W/corpus/kokoro"
if [ "$POOL" != prompts ]; then
  SHARDS="$W/shards/natural-$POOL-x$UTTERANCES"
  CORPUS="$W/corpus/kokoro-$POOL"
fi
if [ "$FIRST" != 0 ]; then
  SHARDS="$SHARDS-from$FIRST"
  CORPUS="$CORPUS-from$FIRST"
fi
[ "$SPEAKERS" = 60 ] || SHARDS="$SHARDS-s$SPEAKERS"
last=$(printf "%04d" $((UTTERANCES - 1)))
DONE="$CORPUS/.complete-s$SPEAKERS-x$UTTERANCES-from$FIRST"
if [ ! -f "$DONE" ] && [ "$(find "$CORPUS" -name "kokoro-*_$last.wav" 2>/dev/null | wc -l)" -lt $SPEAKERS ]; then
  "$PY" -m tools.make_corpus --source kokoro,asterisk --out_dir "$CORPUS" --speakers $SPEAKERS --utterances $UTTERANCES \
    --first_utterance "$FIRST" --sample_rate 22050 --pretrained_dir "$P" --sentence_pool "$POOL" \
    --heldout_utterances "$HELDOUT_UTTERANCES"
  touch "$DONE"
fi
CORPORA="$CORPUS"
if [ "$EXTEND" != 0 ]; then
  EXT="$CORPUS-$EXTEND_POOL-from$UTTERANCES"
  EXT_DONE="$EXT/.complete-s$SPEAKERS-x$((UTTERANCES + EXTEND))"
  if [ ! -f "$EXT_DONE" ]; then
    "$PY" -m tools.make_corpus --source kokoro --out_dir "$EXT" --speakers $SPEAKERS \
      --utterances $((UTTERANCES + EXTEND)) --first_utterance "$UTTERANCES" --sample_rate 22050 \
      --pretrained_dir "$P" --sentence_pool "$EXTEND_POOL" --heldout_utterances 1
    touch "$EXT_DONE"
  fi
  CORPORA="$CORPUS,$EXT"
  SHARDS="$SHARDS-plus-$EXTEND_POOL$EXTEND"
fi
if [ ! -f "$SHARDS/embeddings/train.npy" ]; then
  "$PY" -m tools.preprocess --corpus local --corpus_dir "$CORPORA" --out_dir "$SHARDS" \
    --sample_rate 22050
  if [ ! -f "$W/exported/speaker_encoder/1/saved_model.pb" ]; then
    "$PY" -m tools.import_resemblyzer --weights "$P/Resemblyzer-0.1.4-py3-none-any.whl" --model_dir "$W/runs/resemblyzer_vad"
    "$PY" -m tools.export --model speaker_encoder --model_dir "$W/runs/resemblyzer_vad" --export_dir "$W/exported"
  fi
  "$PY" -m tools.embed --data_dir "$SHARDS" --encoder "$W/exported/speaker_encoder/1"
fi
if [ ! -d "$W/eval/heldout" ]; then
  "$PY" - "$W" "$CORPUS" "$FIRST" <<'PY'
import json, os, shutil, sys
work, corpus, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = os.path.join(work, "eval", "heldout.tmp")
os.makedirs(out, exist_ok=True)
with open(os.path.join(corpus, "speakers.json"), encoding="utf-8") as f:
    speakers = json.load(f)
for name, speaker in sorted(speakers.items()):
    if speaker.get("heldout"):  # the first utterance of each held-out voice, with its transcript
        for ext in (".wav", ".txt"):
            shutil.copy(os.path.join(corpus, name, f"{name}_{first:04d}{ext}"), os.path.join(out, name + ext))
os.rename(out, os.path.join(work, "eval", "heldout"))
print("held-out reference clips:", len(os.listdir(os.path.join(work, "eval", "heldout"))) // 2)
PY
fi
INIT=()
ls "$W/runs/$RUN"/ckpt-*.index >/dev/null 2>&1 || INIT=(--init_weights "$REPO/pretrained/demo/synthesizer.npz")
exec "$PY" -m tools.train --model synthesizer --config configs/synthesizer/demo.yaml --data_dir "$SHARDS" \
  --model_dir "$W/runs/$RUN" "${INIT[@]}" --max_hours "$HOURS" "$@"
