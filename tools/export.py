"""tfclone-export: a trained model_dir (checkpoint + resolved config) -> exported/<model>/<version>/.

    tfclone-export --model speaker_encoder --model_dir runs/encoder --export_dir exported
"""
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, ["speaker_encoder", "synthesizer", "vocoder", "griffin_lim"],
                  "Which model to export. griffin_lim needs no training: it takes the audio preset from "
                  "--model_dir's config.yaml or from --config.")
flags.DEFINE_string("model_dir", None, "The training model_dir (holds config.yaml and checkpoints).")
flags.DEFINE_string("config", None, "griffin_lim: a vocoder config file for the audio preset.")
flags.DEFINE_string("export_dir", "exported", "Base folder: the SavedModel goes to <export_dir>/<model>/<version>.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint (default: the latest in --model_dir).")
flags.DEFINE_integer("version", None, "Version folder number (default: one above the highest present).")
flags.DEFINE_boolean("prenet_dropout", True, "Synthesizer: keep prenet dropout on at inference (Tacotron 2 "
                     "does; --noprenet_dropout makes the output deterministic).")
flags.DEFINE_boolean("folded", True, "Vocoder: generate each utterance as a batch of overlapping segments "
                     "(fast); --nofolded generates the utterances of a request as one batch, sample by sample.")
flags.DEFINE_integer("seed", 0, "Vocoder: the sampling seed built into the SavedModel.")
flags.DEFINE_integer("griffin_lim_iterations", 32, "griffin_lim: iterations.")
flags.mark_flags_as_required(["model"])


def main(argv):
    del argv
    from tfclone.config import ConfigError, experiment_config
    from tfclone.export.base import ExportError

    if FLAGS.model == "griffin_lim" and FLAGS.config:
        config_file = FLAGS.config
    elif not FLAGS.model_dir:
        raise app.UsageError("--model_dir is required" + (" (or --config)" if FLAGS.model == "griffin_lim" else ""))
    else:
        config_file = os.path.join(FLAGS.model_dir, "config.yaml")
        if not os.path.isfile(config_file):
            raise app.UsageError(f"{FLAGS.model_dir}: no config.yaml; not a tfclone model_dir")
    try:
        config = experiment_config("vocoder" if FLAGS.model == "griffin_lim" else FLAGS.model, [config_file])
        if FLAGS.model == "speaker_encoder":
            from tfclone.export.speaker_encoder import export_speaker_encoder

            path = export_speaker_encoder(config, FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint, FLAGS.version)
        elif FLAGS.model == "synthesizer":
            from tfclone.export.synthesizer import export_synthesizer

            path = export_synthesizer(config, FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint, FLAGS.version,
                                      FLAGS.prenet_dropout)
        elif FLAGS.model == "vocoder":
            from tfclone.export.vocoder import export_vocoder

            path = export_vocoder(config, FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint, FLAGS.version,
                                  FLAGS.folded, FLAGS.seed)
        else:
            from tfclone.export.vocoder import export_griffin_lim

            path = export_griffin_lim(config, FLAGS.export_dir, FLAGS.version, FLAGS.griffin_lim_iterations)
    except (ConfigError, ExportError) as e:
        raise app.UsageError(str(e)) from None
    print(path)


def run():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run()
