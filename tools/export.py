"""tfclone-export: a trained model_dir (checkpoint + resolved config) -> exported/<model>/<version>/.

    tfclone-export --model speaker_encoder --model_dir runs/encoder --export_dir exported
"""
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, ["speaker_encoder", "synthesizer", "vocoder"], "Which model to export.")
flags.DEFINE_string("model_dir", None, "The training model_dir (holds config.yaml and checkpoints).")
flags.DEFINE_string("export_dir", "exported", "Base folder: the SavedModel goes to <export_dir>/<model>/<version>.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint (default: the latest in --model_dir).")
flags.DEFINE_integer("version", None, "Version folder number (default: one above the highest present).")
flags.DEFINE_boolean("prenet_dropout", True, "Synthesizer: keep prenet dropout on at inference (Tacotron 2 "
                     "does; --noprenet_dropout makes the output deterministic).")
flags.mark_flags_as_required(["model", "model_dir"])


def main(argv):
    del argv
    from tfclone.config import ConfigError, experiment_config
    from tfclone.export.base import ExportError

    config_file = os.path.join(FLAGS.model_dir, "config.yaml")
    if not os.path.isfile(config_file):
        raise app.UsageError(f"{FLAGS.model_dir}: no config.yaml; not a tfclone model_dir")
    try:
        config = experiment_config(FLAGS.model, [config_file])
        if FLAGS.model == "speaker_encoder":
            from tfclone.export.speaker_encoder import export_speaker_encoder

            path = export_speaker_encoder(config, FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint, FLAGS.version)
        elif FLAGS.model == "synthesizer":
            from tfclone.export.synthesizer import export_synthesizer

            path = export_synthesizer(config, FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint, FLAGS.version,
                                      FLAGS.prenet_dropout)
        else:
            raise app.UsageError(f"model: exporting {FLAGS.model} is not available yet")
    except (ConfigError, ExportError) as e:
        raise app.UsageError(str(e)) from None
    print(path)


def run():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run()
