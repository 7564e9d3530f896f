"""tfclone-train: train one of the three models from a config, resuming from --model_dir if it holds one.

    tfclone-train --model speaker_encoder --config configs/speaker_encoder/tiny.yaml \\
        --data_dir data/local_shards --model_dir runs/encoder [--params_override train.train_steps=500] \\
        [--strategy default|mirrored|multi_worker]
"""
import sys

from absl import app, flags, logging

from tfclone.cli import run_tool
from tfclone.config.registry import TRAINABLE

FLAGS = flags.FLAGS
flags.DEFINE_enum("model", None, list(TRAINABLE), "Which model to train.")
flags.DEFINE_multi_string("config", [], "YAML override file(s), applied in order.")
flags.DEFINE_string("params_override", "", "a.b=c,d.e=f overrides, applied after the YAML files.")
flags.DEFINE_string("data_dir", None, "tfclone-preprocess output folder.")
flags.DEFINE_string("eval_data_dir", None, "Folder for periodic evaluation (default: --data_dir).")
flags.DEFINE_string("model_dir", None, "Checkpoints, resolved config, TensorBoard logs and plots.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker"], "tf.distribute strategy.")
flags.DEFINE_string("init_weights", None, "A weight file (.npz, tfclone-export --model ... --weights_out) to "
                    "start from when --model_dir holds no checkpoint yet.")
flags.DEFINE_bool("init_weights_partial", False, "Take from --init_weights only the variables whose path and "
                  "shape fit the model (e.g. after changing the synthesizer's r or postnet; its frame projection is "
                  "fitted across r); the others keep their initial values, each named in the log.")
flags.DEFINE_float("max_hours", 0.0, "Stop after this long (at the next summary boundary, with a checkpoint); a "
                   "later run continues. 0: train to train.train_steps.", lower_bound=0.0)
flags.DEFINE_integer("num_cpu_devices", 0, "Split the CPU into this many logical devices (mirrored on CPU).")
flags.mark_flags_as_required(["model", "data_dir", "model_dir"])


def main(argv):
    del argv
    from tfclone.config import ConfigError, experiment_config
    from tfclone.data.pipeline import DataError
    from tfclone.tasks import build_task
    from tfclone.training.strategy import describe, make_strategy, split_cpu
    from tfclone.training.trainer import CorruptDataError, Trainer, TrainingError
    from tfclone.training.weights import WeightsError

    try:
        config = experiment_config(FLAGS.model, FLAGS.config, FLAGS.params_override)
    except ConfigError as e:
        raise app.UsageError(str(e)) from None
    split_cpu(FLAGS.num_cpu_devices)
    strategy = make_strategy(FLAGS.strategy)
    logging.info("strategy: %s", describe(strategy))
    try:
        result = Trainer(build_task(FLAGS.model, config), FLAGS.model_dir, strategy, FLAGS.init_weights,
                         FLAGS.init_weights_partial).train(
            FLAGS.data_dir, FLAGS.eval_data_dir or FLAGS.data_dir, max_seconds=FLAGS.max_hours * 3600 or None)
    except (CorruptDataError, DataError, WeightsError) as e:  # bad data: one line naming the file, exit 2
        print(f"tfclone-train: error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        logging.error("%s", e)
        print(f"tfclone-train: {e}", file=sys.stderr)
        return 1
    for line in result.data_problems:
        print(f"skipped damaged data: {line}")
    print(f"step {result.step} loss {result.metrics.get('loss', float('nan')):.6f} "
          f"skipped {result.skipped_steps} weights {result.weights_digest}"
          + (" preempted" if result.preempted else "") + (" out of time" if result.out_of_time else ""), flush=True)
    return 143 if result.preempted else 0


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
