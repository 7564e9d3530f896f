"""tfclone-evaluate: metrics of a trained model on a preprocessed corpus's held-out data, with plots.

    tfclone-evaluate --model speaker_encoder --model_dir runs/encoder --data_dir data/local_shards
    -> EER and minDCF on the test split's (unseen) speakers; DET curve and embedding projection PNGs.
    tfclone-evaluate --model synthesizer --model_dir runs/synthesizer --data_dir data/shards --split validation
    -> the teacher-forced loss terms over the split (fixed prenet-dropout masks: comparable between checkpoints),
       free-running alignment scores and stop-length error on its first batch; alignment and mel PNGs and the
       Griffin-Lim audio of its first sentence.
    --checkpoint picks another checkpoint than the latest; --weights evaluates a weights file (tfclone-export
    --weights_out, e.g. pretrained/demo/synthesizer.npz) under --config instead of a model_dir.
"""
import json
import os

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, ["speaker_encoder", "synthesizer"], "Which model to evaluate.")
flags.DEFINE_string("model_dir", None, "The model_dir (config.yaml + checkpoint).")
flags.DEFINE_string("checkpoint", None, "A checkpoint prefix (default: the model_dir's latest).")
flags.DEFINE_string("weights", None, "A weights file (.npz, tfclone-export --weights_out) instead of a checkpoint.")
flags.DEFINE_string("config", None, "The model's config YAML (default: <model_dir>/config.yaml).")
flags.DEFINE_string("data_dir", None, "tfclone-preprocess output folder.")
flags.DEFINE_enum("split", None, ["train", "validation", "test"],
                  "Split to evaluate on (default: test for the speaker encoder, validation for the synthesizer).")
flags.DEFINE_integer("max_utterances_per_speaker", None, "Speaker encoder: cap per speaker (default: all).")
flags.DEFINE_integer("max_batches", 0, "Synthesizer: batches the loss averages over (0: the whole split).")
flags.DEFINE_string("out_dir", None, "Where plots and metrics.json go (default: <model_dir>/eval).")
flags.mark_flags_as_required(["model", "data_dir"])


def _config():
    from tfclone.config import ConfigError, experiment_config

    if FLAGS.weights and FLAGS.checkpoint:
        raise app.UsageError("--weights and --checkpoint: pass one")
    if not FLAGS.model_dir and not (FLAGS.weights and FLAGS.config and FLAGS.out_dir):
        raise app.UsageError("--model_dir, or --weights with --config and --out_dir")
    path = FLAGS.config or os.path.join(FLAGS.model_dir, "config.yaml")
    if not os.path.isfile(path):
        raise app.UsageError(f"--config {path}: no such file" if FLAGS.config
                             else f"{FLAGS.model_dir}: no config.yaml; not a tfclone model_dir")
    try:
        return experiment_config(FLAGS.model, [path])
    except ConfigError as e:
        raise app.UsageError(f"{path}: {e}") from None


def _load(model) -> str:
    """The weights into the built model; returns where they came from."""
    from tfclone.export.base import ExportError, restore_model
    from tfclone.training.weights import WeightsError, load_weights

    try:
        if FLAGS.weights:
            load_weights(model, FLAGS.weights)
            return FLAGS.weights
        return restore_model(model, FLAGS.model_dir, FLAGS.checkpoint)
    except (ExportError, WeightsError, OSError, ValueError) as e:
        raise app.UsageError(str(e)) from None


def _speaker_encoder(config, out_dir):
    from tfclone.eval.speaker_verification import evaluate_encoder, write_plots
    from tfclone.models.speaker_encoder import build_speaker_encoder

    encoder = build_speaker_encoder(config.audio, config.model)
    _load(encoder)
    split = FLAGS.split or "test"
    try:
        result = evaluate_encoder(encoder, config, FLAGS.data_dir, split, FLAGS.max_utterances_per_speaker)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    return result["metrics"], write_plots(result, out_dir, f"({split})")


def _synthesizer(config, out_dir):
    from tfclone.tasks.base import write_views
    from tfclone.tasks.synthesizer import SynthesizerTask

    task = SynthesizerTask(config)
    model = task.build_model()
    source = _load(model)
    split = FLAGS.split or "validation"
    try:
        batch = task.first_batch(FLAGS.data_dir, split)
        metrics = task.evaluate(model, FLAGS.data_dir, split, FLAGS.max_batches)
    except ValueError as e:
        raise app.UsageError(str(e)) from None
    paths = write_views(task.summarize(model, None, batch), out_dir)
    # the task names its terms validation_* (training's TensorBoard curve); here the split is named beside them
    return {"weights": source, "split": split,
            **{k.removeprefix("validation_"): v for k, v in metrics.items()}}, paths


def main(argv):
    del argv
    config = _config()
    out_dir = FLAGS.out_dir or os.path.join(FLAGS.model_dir, "eval")
    metrics, paths = (_speaker_encoder if FLAGS.model == "speaker_encoder" else _synthesizer)(config, out_dir)
    from tfclone.fileio import atomic_write_text

    atomic_write_text(os.path.join(out_dir, "metrics.json"), json.dumps(metrics, indent=1) + "\n")
    print(json.dumps({**metrics, **paths}, indent=1))


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
