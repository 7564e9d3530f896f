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

from tfclone.cli import run_tool
from tfclone.config.registry import MODELS, VOCODERS

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, [*MODELS, "all"], "What to export. griffin_lim needs no training: it takes the "
                  "audio preset from --model_dir's config.yaml or from --config.")
flags.DEFINE_string("model_dir", None, "The training model_dir (holds config.yaml and checkpoints).")
flags.DEFINE_string("config", None, "griffin_lim: a vocoder config file for the audio preset.")
flags.DEFINE_string("speaker_encoder_dir", None, "all: the speaker encoder's model_dir.")
flags.DEFINE_string("synthesizer_dir", None, "all: the synthesizer's model_dir.")
flags.DEFINE_string("vocoder_dir", None, "all: the vocoder's model_dir (absent: Griffin-Lim vocodes voice_clone).")
flags.DEFINE_enum("voice_clone_vocoder", None, list(VOCODERS),
                  "voice_clone: which exported vocoder to compose (default: the best one exported, HiFi-GAN first).")
flags.DEFINE_string("export_dir", "exported", "Base folder: the SavedModel goes to <export_dir>/<model>/<version>.")
flags.DEFINE_string("checkpoint", None, "A specific checkpoint (default: the latest in --model_dir).")
flags.DEFINE_integer("version", None, "Version folder number (default: one above the highest present).")
flags.DEFINE_boolean("prenet_dropout", True, "Synthesizer: keep prenet dropout on at inference (Tacotron 2 "
                     "does; --noprenet_dropout makes the output deterministic).")
flags.DEFINE_boolean("folded", True, "Vocoder: generate each utterance as a batch of overlapping segments "
                     "(fast); --nofolded generates the utterances of a request as one batch, sample by sample.")
flags.DEFINE_integer("seed", 0, "Vocoder: the sampling seed built into the SavedModel.")
flags.DEFINE_integer("griffin_lim_iterations", 32, "griffin_lim: iterations.")
flags.DEFINE_string("weights_out", None, "Instead of a SavedModel: write --model_dir's latest weights (no optimizer "
                    "state) to this .npz, float16, for committing or tfclone-train --init_weights.")
flags.DEFINE_integer("max_batch_size", 8, "Serving batching: largest batch (allowed sizes are powers of two up to it).")
flags.DEFINE_integer("batch_timeout_micros", 20000, "Serving batching: how long to wait to fill a batch.")
flags.DEFINE_integer("num_batch_threads", 2, "Serving batching: threads running batches.")
flags.mark_flags_as_required(["model"])


def export_one(model: str, model_dir: str, version=None) -> str:
    """A model trained (or imported) into a model_dir, by its registered exporter."""
    from tfclone.config.registry import model_spec
    from tfclone.export.all_models import model_dir_config

    spec = model_spec(model)
    options = {name: getattr(FLAGS, name) for name in spec.export_options}
    return spec.export(model_dir_config(model, model_dir), model_dir, FLAGS.export_dir, FLAGS.checkpoint, version,
                       **options)


def export_weights(model: str, model_dir: str, out: str) -> str:
    from tfclone.export.all_models import model_dir_config
    from tfclone.export.base import restore_model
    from tfclone.tasks import build_task
    from tfclone.training.weights import save_weights

    net = build_task(model, model_dir_config(model, model_dir)).build_model()
    restore_model(net, model_dir, FLAGS.checkpoint)
    return save_weights(net, out)


def export_all():
    from tfclone.export.all_models import export_all as export_everything
    from tfclone.serving.config import Batching

    for name in ("speaker_encoder_dir", "synthesizer_dir"):
        if not getattr(FLAGS, name):
            raise app.UsageError(f"--model all needs --{name}")
    batching = Batching.up_to(FLAGS.max_batch_size, batch_timeout_micros=FLAGS.batch_timeout_micros,
                              num_batch_threads=FLAGS.num_batch_threads)
    return export_everything(FLAGS.export_dir, FLAGS.speaker_encoder_dir, FLAGS.synthesizer_dir, FLAGS.vocoder_dir,
                             prenet_dropout=FLAGS.prenet_dropout, folded=FLAGS.folded, seed=FLAGS.seed,
                             griffin_lim_iterations=FLAGS.griffin_lim_iterations,
                             voice_clone_vocoder=FLAGS.voice_clone_vocoder, batching=batching)


def main(argv):
    del argv
    from tfclone.config import ConfigError
    from tfclone.export.layout import ExportError
    from tfclone.serving.config import ServingConfigError

    try:
        if FLAGS.model == "all":
            for name, path in export_all().items():
                print(f"{name}: {path}")
            return
        if FLAGS.model == "voice_clone":
            from tfclone.export.layout import default_vocoder
            from tfclone.export.voice_clone import export_voice_clone

            path = export_voice_clone(FLAGS.export_dir, FLAGS.voice_clone_vocoder or default_vocoder(FLAGS.export_dir),
                                      FLAGS.version)
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
            path = export_weights(FLAGS.model, FLAGS.model_dir, FLAGS.weights_out) if FLAGS.weights_out else \
                export_one(FLAGS.model, FLAGS.model_dir, FLAGS.version)
    except (ConfigError, ExportError, ServingConfigError) as e:
        raise app.UsageError(str(e)) from None
    print(path)


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
