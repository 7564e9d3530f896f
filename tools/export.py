"""tfclone-export: trained model_dirs (checkpoint + resolved config) -> exported/<model>/<version>/.

    tfclone-export --model speaker_encoder --model_dir runs/encoder --export_dir exported
    tfclone-export --model all --speaker_encoder_dir runs/encoder --synthesizer_dir runs/synthesizer \\
        --vocoder_dir runs/vocoder --export_dir exported

`all` exports the three models (Griffin-Lim too, always; it stands in for the vocoder when --vocoder_dir is
not given), composes exported/voice_clone/<version> from them, and writes exported/models.config and
exported/batching_parameters.txt for tensorflow_model_server. `voice_clone` composes it from the latest
versions already under --export_dir.
"""
import os

from absl import app, flags

FLAGS = flags.FLAGS
MODELS = ["speaker_encoder", "synthesizer", "vocoder", "griffin_lim", "voice_clone", "all"]
flags.DEFINE_enum("model", None, MODELS, "What to export. griffin_lim needs no training: it takes the audio "
                  "preset from --model_dir's config.yaml or from --config.")
flags.DEFINE_string("model_dir", None, "The training model_dir (holds config.yaml and checkpoints).")
flags.DEFINE_string("config", None, "griffin_lim: a vocoder config file for the audio preset.")
flags.DEFINE_string("speaker_encoder_dir", None, "all: the speaker encoder's model_dir.")
flags.DEFINE_string("synthesizer_dir", None, "all: the synthesizer's model_dir.")
flags.DEFINE_string("vocoder_dir", None, "all: the vocoder's model_dir (absent: Griffin-Lim vocodes voice_clone).")
flags.DEFINE_enum("voice_clone_vocoder", None, ["vocoder", "griffin_lim"],
                  "voice_clone: which exported vocoder to compose (default: vocoder if exported, else griffin_lim).")
flags.DEFINE_string("export_dir", "exported", "Base folder: the SavedModel goes to <export_dir>/<model>/<version>.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint (default: the latest in --model_dir).")
flags.DEFINE_integer("version", None, "Version folder number (default: one above the highest present).")
flags.DEFINE_boolean("prenet_dropout", True, "Synthesizer: keep prenet dropout on at inference (Tacotron 2 "
                     "does; --noprenet_dropout makes the output deterministic).")
flags.DEFINE_boolean("folded", True, "Vocoder: generate each utterance as a batch of overlapping segments "
                     "(fast); --nofolded generates the utterances of a request as one batch, sample by sample.")
flags.DEFINE_integer("seed", 0, "Vocoder: the sampling seed built into the SavedModel.")
flags.DEFINE_integer("griffin_lim_iterations", 32, "griffin_lim: iterations.")
flags.DEFINE_integer("max_batch_size", 8, "Serving batching: largest batch (allowed sizes are powers of two up to it).")
flags.DEFINE_integer("batch_timeout_micros", 20000, "Serving batching: how long to wait to fill a batch.")
flags.DEFINE_integer("num_batch_threads", 2, "Serving batching: threads running batches.")
flags.mark_flags_as_required(["model"])


def _model_config(model: str, model_dir: str):
    from tfclone.config import experiment_config

    config_file = os.path.join(model_dir, "config.yaml")
    if not os.path.isfile(config_file):
        raise app.UsageError(f"{model_dir}: no config.yaml; not a tfclone {model} model_dir")
    return experiment_config(model, [config_file])


def export_one(model: str, model_dir: str, version=None) -> str:
    if model == "speaker_encoder":
        from tfclone.export.speaker_encoder import export_speaker_encoder

        return export_speaker_encoder(_model_config(model, model_dir), model_dir, FLAGS.export_dir,
                                      FLAGS.checkpoint, version)
    if model == "synthesizer":
        from tfclone.export.synthesizer import export_synthesizer

        return export_synthesizer(_model_config(model, model_dir), model_dir, FLAGS.export_dir, FLAGS.checkpoint,
                                  version, FLAGS.prenet_dropout)
    from tfclone.export.vocoder import export_vocoder

    return export_vocoder(_model_config(model, model_dir), model_dir, FLAGS.export_dir, FLAGS.checkpoint, version,
                          FLAGS.folded, FLAGS.seed)


def batching():
    from tfclone.serving.config import Batching

    sizes = tuple(2 ** i for i in range(FLAGS.max_batch_size.bit_length()) if 2 ** i < FLAGS.max_batch_size)
    return Batching(max_batch_size=FLAGS.max_batch_size, batch_timeout_micros=FLAGS.batch_timeout_micros,
                    num_batch_threads=FLAGS.num_batch_threads, allowed_batch_sizes=sizes + (FLAGS.max_batch_size,))


def export_all():
    from tfclone.export.vocoder import export_griffin_lim
    from tfclone.export.voice_clone import export_voice_clone, griffin_lim_config
    from tfclone.serving.config import write_serving_configs

    for name in ("speaker_encoder_dir", "synthesizer_dir"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--model all needs --{name}")
    paths = {"speaker_encoder": export_one("speaker_encoder", FLAGS.speaker_encoder_dir),
             "synthesizer": export_one("synthesizer", FLAGS.synthesizer_dir)}
    if FLAGS.vocoder_dir:
        paths["vocoder"] = export_one("vocoder", FLAGS.vocoder_dir)
    synthesizer = _model_config("synthesizer", FLAGS.synthesizer_dir)
    paths["griffin_lim"] = export_griffin_lim(griffin_lim_config(synthesizer), FLAGS.export_dir,
                                              iterations=FLAGS.griffin_lim_iterations)
    vocoder = FLAGS.voice_clone_vocoder or ("vocoder" if FLAGS.vocoder_dir else "griffin_lim")
    paths["voice_clone"] = export_voice_clone(FLAGS.export_dir, vocoder, sources={
        k: v for k, v in paths.items() if k in ("speaker_encoder", "synthesizer", vocoder)})
    paths.update(write_serving_configs(FLAGS.export_dir, batching()))
    return paths


def main(argv):
    del argv
    from tfclone.config import ConfigError
    from tfclone.export.base import ExportError
    from tfclone.serving.config import ServingConfigError

    try:
        if FLAGS.model == "all":
            for name, path in export_all().items():
                print(f"{name}: {path}")
            return
        if FLAGS.model == "voice_clone":
            from tfclone.export.voice_clone import export_voice_clone, latest_version

            vocoder = FLAGS.voice_clone_vocoder
            if vocoder is None:
                try:
                    latest_version(FLAGS.export_dir, "vocoder")
                    vocoder = "vocoder"
                except ExportError:
                    vocoder = "griffin_lim"
            path = export_voice_clone(FLAGS.export_dir, vocoder, FLAGS.version)
        elif FLAGS.model == "griffin_lim":
            from tfclone.export.vocoder import export_griffin_lim

            config_file = FLAGS.config or (FLAGS.model_dir and os.path.join(FLAGS.model_dir, "config.yaml"))
            if not config_file or not os.path.isfile(config_file):
                raise app.UsageError("griffin_lim: give --config (a vocoder config) or a --model_dir with config.yaml")
            from tfclone.config import experiment_config

            path = export_griffin_lim(experiment_config("vocoder", [config_file]), FLAGS.export_dir, FLAGS.version,
                                      FLAGS.griffin_lim_iterations)
        else:
            if not FLAGS.model_dir:
                raise app.UsageError(f"--model {FLAGS.model} needs --model_dir")
            path = export_one(FLAGS.model, FLAGS.model_dir, FLAGS.version)
    except (ConfigError, ExportError, ServingConfigError) as e:
        raise app.UsageError(str(e)) from None
    print(path)


def run():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run()
