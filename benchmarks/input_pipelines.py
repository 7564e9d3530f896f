"""Elements per second of each model's tf.data input function on the local corpus, beside the rate of
merely reading and parsing the same records (the baseline, measured in the same run), so the cost of the
in-graph features and batching is visible.

    python benchmarks/input_pipelines.py [--data_dir DIR] [--seconds 10]

Without --data_dir it makes a 12-speaker x 20-utterance local corpus and preprocesses it first.
"""
import os
import tempfile
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "A tfclone-preprocess output folder (default: make one).")
flags.DEFINE_float("seconds", 10.0, "Measuring time per pipeline.")


def rate(dataset, seconds, count_fn):
    iterator = iter(dataset)
    next(iterator)  # warm-up: tracing, file opening
    start, elements = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        elements += count_fn(next(iterator))
    return elements / (time.perf_counter() - start)


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.data import pipeline, records
    from tfclone.data.embeddings import write_embeddings
    from tfclone.data.make_corpus import make_corpus
    from tfclone.data.preprocess import PreprocessOptions, preprocess

    data_dir = FLAGS.data_dir
    if data_dir is None:
        work = tempfile.mkdtemp(prefix="tfclone-bench-")
        make_corpus(os.path.join(work, "corpus"), 12, 20)
        summary = preprocess(PreprocessOptions("local", os.path.join(work, "corpus"), test_speakers=2),
                             os.path.join(work, "shards"))
        data_dir = os.path.join(work, "shards")
        for split, rows in summary["split_sizes"].items():
            write_embeddings(data_dir, split, np.random.default_rng(0).standard_normal((rows, 256)))
    files = sorted(tf.io.gfile.glob(os.path.join(data_dir, "tfrecords", "train", "*.tfrecord")))
    baseline = (tf.data.Dataset.from_tensor_slices(files).repeat()
                .interleave(tf.data.TFRecordDataset, cycle_length=4, num_parallel_calls=tf.data.AUTOTUNE)
                .map(records.parse_example, num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE))
    base = rate(baseline, FLAGS.seconds, lambda e: 1)
    print(f"{'pipeline':<18}{'elements/s':>12}{'vs read+parse':>16}   element")
    print(f"{'read+parse':<18}{base:>12.1f}{1.0:>15.2f}x   one utterance record")
    tiny = {m: experiment_config(m, [f"configs/{m}/tiny.yaml"]) for m in ("speaker_encoder", "synthesizer", "vocoder")}
    cases = [
        ("speaker_encoder", pipeline.speaker_encoder_dataset(tiny["speaker_encoder"], data_dir), "1.6 s crop -> 160x40 mel"),
        ("synthesizer", pipeline.synthesizer_dataset(tiny["synthesizer"], data_dir), "utterance -> ids + 80-mel"),
        ("vocoder", pipeline.vocoder_dataset(tiny["vocoder"], data_dir), "segment -> audio + 80-mel"),
    ]
    for name, dataset, what in cases:
        r = rate(dataset, FLAGS.seconds, lambda b: int(b["mel"].shape[0]))
        print(f"{name:<18}{r:>12.1f}{r / base:>15.2f}x   {what}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
