"""tfclone-evaluate: metrics of a trained model on a preprocessed corpus's held-out data, with plots.

    tfclone-evaluate --model speaker_encoder --model_dir runs/encoder --data_dir data/local_shards
    -> EER and minDCF on the test split's (unseen) speakers; DET curve and embedding projection PNGs.
"""
import json
import os

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, ["speaker_encoder"], "Which model to evaluate.")
flags.DEFINE_string("model_dir", None, "The model_dir (config.yaml + checkpoint).")
flags.DEFINE_string("data_dir", None, "tfclone-preprocess output folder.")
flags.DEFINE_enum("split", "test", ["train", "validation", "test"], "Split to evaluate on.")
flags.DEFINE_integer("max_utterances_per_speaker", None, "Cap per speaker (default: all).")
flags.DEFINE_string("out_dir", None, "Where plots and metrics.json go (default: <model_dir>/eval).")
flags.mark_flags_as_required(["model", "model_dir", "data_dir"])


def main(argv):
    del argv
    from tfclone.config import experiment_config
    from tfclone.eval.speaker_verification import evaluate_encoder, write_plots
    from tfclone.export.base import ExportError, restore_model
    from tfclone.models.speaker_encoder import build_speaker_encoder

    config_file = os.path.join(FLAGS.model_dir, "config.yaml")
    if not os.path.isfile(config_file):
        raise app.UsageError(f"{FLAGS.model_dir}: no config.yaml; not a tfclone model_dir")
    config = experiment_config(FLAGS.model, [config_file])
    encoder = build_speaker_encoder(config.audio, config.model)
    try:
        restore_model(encoder, FLAGS.model_dir)
        result = evaluate_encoder(encoder, config, FLAGS.data_dir, FLAGS.split, FLAGS.max_utterances_per_speaker)
    except (ExportError, ValueError) as e:
        raise app.UsageError(str(e)) from None
    out_dir = FLAGS.out_dir or os.path.join(FLAGS.model_dir, "eval")
    paths = write_plots(result, out_dir, f"({FLAGS.split})")
    from tfclone.fileio import atomic_write_text

    atomic_write_text(os.path.join(out_dir, "metrics.json"), json.dumps(result["metrics"], indent=1) + "\n")
    print(json.dumps({**result["metrics"], **paths}, indent=1))


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
