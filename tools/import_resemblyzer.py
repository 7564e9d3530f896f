"""tfclone-import-resemblyzer: Resemblyzer's pretrained encoder -> a tfclone model_dir (no torch needed).

    pip download --no-deps resemblyzer==0.1.4 -d pretrained/      # scripts/setup.sh does this
    tfclone-import-resemblyzer --weights pretrained/Resemblyzer-0.1.4-py3-none-any.whl --model_dir runs/resemblyzer
    tfclone-export --model speaker_encoder --model_dir runs/resemblyzer
"""

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("weights", None, "The resemblyzer 0.1.4 wheel, or resemblyzer/pretrained.pt from it.")
flags.DEFINE_string("model_dir", None, "Where the tfclone checkpoint and config.yaml go.")
flags.mark_flags_as_required(["weights", "model_dir"])


def main(argv):
    del argv
    from tfclone.models.resemblyzer import import_resemblyzer

    try:
        print(import_resemblyzer(FLAGS.weights, FLAGS.model_dir))
    except (FileNotFoundError, ValueError) as e:
        raise app.UsageError(str(e)) from None


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
