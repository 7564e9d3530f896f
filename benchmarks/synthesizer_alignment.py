"""How long until the tiny Tacotron aligns on 2 CPU cores? Trains the tiny synthesizer on a local
multi-speaker corpus (speaker embeddings from Resemblyzer's imported encoder) and, every --eval_minutes,
prints the validation loss (teacher forced) and the free-running alignment scores on held-out sentences.

    python benchmarks/synthesizer_alignment.py --minutes 30 [--speakers 12 --utterances 100]

Columns: focus = mean max attention weight per decoder step; monotonic = fraction of steps whose focus
does not move back; diagonal = fraction of steps within 20% of the straight line; stop error = mean
|predicted - true length| / true length.
"""
import dataclasses
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", "/tmp/tfclone-tacotron", "Corpus, shards, exports and model_dir (reused).")
flags.DEFINE_integer("speakers", 12, "Synthetic speakers.")
flags.DEFINE_integer("utterances", 100, "Utterances per speaker.")
flags.DEFINE_float("minutes", 30.0, "Training time budget.")
flags.DEFINE_float("eval_minutes", 3.0, "Evaluate after about this much training.")
flags.DEFINE_string("config", "configs/synthesizer/tiny.yaml", "Synthesizer config.")
flags.DEFINE_string("params_override", "", "Overrides for the synthesizer config.")


def main(argv):
    del argv
    from tfclone.config import experiment_config
    from tfclone.data.embeddings import compute_embeddings
    from tfclone.data.make_corpus import make_corpus
    from tfclone.data.preprocess import PreprocessOptions, preprocess
    from tfclone.eval import judges
    from tfclone.export.speaker_encoder import export_speaker_encoder
    from tfclone.models.resemblyzer import import_resemblyzer, resemblyzer_config
    from tfclone.tasks import build_task
    from tfclone.training.trainer import Trainer

    work = FLAGS.work_dir
    corpus, shards = os.path.join(work, "corpus"), os.path.join(work, "shards")
    make_corpus(corpus, FLAGS.speakers, FLAGS.utterances)
    preprocess(PreprocessOptions("local", corpus, test_speakers=1, validation_fraction=0.05), shards)
    if not os.path.isdir(os.path.join(shards, "embeddings")):
        rz_dir = os.path.join(work, "resemblyzer")
        import_resemblyzer(judges.RESEMBLYZER_WHEEL, rz_dir)
        encoder = export_speaker_encoder(resemblyzer_config(), rz_dir, os.path.join(work, "exported"))
        compute_embeddings(shards, encoder)
    config = experiment_config("synthesizer", [FLAGS.config], FLAGS.params_override)
    model_dir = os.path.join(work, f"synthesizer-{time.strftime('%Y%m%d-%H%M%S')}")
    task = build_task("synthesizer", config)
    rows, steps, trained = [], 0, 0.0
    run = dataclasses.replace(config, train=dataclasses.replace(
        config.train, train_steps=10 ** 6, checkpoint_every=10 ** 6, summary_every=200, eval_every=10 ** 9))
    while trained < FLAGS.minutes * 60:
        began = time.perf_counter()
        # Train about eval_minutes (to a 200-step boundary), then evaluate.
        trainer = Trainer(build_task("synthesizer", run), model_dir)
        steps = trainer.train(shards, max_seconds=min(FLAGS.eval_minutes * 60, FLAGS.minutes * 60 - trained)).step
        trained += time.perf_counter() - began
        metrics = task.evaluate(trainer.model, shards)
        rows.append((trained / 60, steps, metrics))
        print(f"[{trained / 60:5.1f} min, step {steps}] val loss {metrics['validation_loss']:.3f}  focus "
              f"{metrics['alignment_focus']:.2f}  monotonic {metrics['alignment_monotonic']:.2f}  diagonal "
              f"{metrics['alignment_diagonal']:.2f}  stop error {metrics['stop_length_error']:.2f}", flush=True)
    print(f"\n{'minutes':>8}{'steps':>7}{'val loss':>10}{'focus':>7}{'monot.':>8}{'diag.':>7}{'stop err':>10}")
    for minutes, n, m in rows:
        print(f"{minutes:>8.1f}{n:>7}{m['validation_loss']:>10.3f}{m['alignment_focus']:>7.2f}"
              f"{m['alignment_monotonic']:>8.2f}{m['alignment_diagonal']:>7.2f}{m['stop_length_error']:>10.2f}")
    print(f"plots and audio: {model_dir}/plots; TensorBoard: {model_dir}/train")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
