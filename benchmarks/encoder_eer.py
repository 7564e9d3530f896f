"""Does a tiny GE2E encoder trained for a few minutes on 2 CPU cores separate voices it never heard?

Makes a local corpus (--speakers x --utterances), holds out --test_speakers, trains the tiny encoder for
--minutes, and prints the held-out EER and minDCF beside two baselines from the same run: the same
architecture untrained (random weights), and Resemblyzer's pretrained encoder (1.56 M steps on
LibriSpeech + VoxCeleb) if its wheel is in pretrained/.

    python benchmarks/encoder_eer.py --minutes 5 [--work_dir /tmp/tfclone-eer]
"""
import dataclasses
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", "/tmp/tfclone-eer", "Corpus, shards and model_dir go here (reused if present).")
flags.DEFINE_integer("speakers", 40, "Synthetic speakers.")
flags.DEFINE_integer("utterances", 40, "Utterances per speaker.")
flags.DEFINE_integer("test_speakers", 10, "Held-out speakers for the EER.")
flags.DEFINE_float("minutes", 5.0, "Training time budget.")
flags.DEFINE_string("config", "configs/speaker_encoder/tiny.yaml", "Encoder config.")


def main(argv):
    del argv
    from tfclone.config import experiment_config
    from tfclone.data.make_corpus import make_corpus
    from tfclone.data.preprocess import PreprocessOptions, preprocess
    from tfclone.eval import judges
    from tfclone.eval.speaker_verification import evaluate_encoder
    from tfclone.export.base import restore_model
    from tfclone.models.speaker_encoder import build_speaker_encoder
    from tfclone.tasks import build_task
    from tfclone.training.trainer import Trainer

    corpus, shards = os.path.join(FLAGS.work_dir, "corpus"), os.path.join(FLAGS.work_dir, "shards")
    make_corpus(corpus, FLAGS.speakers, FLAGS.utterances)
    preprocess(PreprocessOptions("local", corpus, test_speakers=FLAGS.test_speakers), shards)
    config = experiment_config("speaker_encoder", [FLAGS.config])
    rows = []

    untrained = build_speaker_encoder(config.audio, config.model)
    rows.append(("untrained (random weights)", 0, 0.0, evaluate_encoder(untrained, config, shards)["metrics"]))

    # Train until the time budget is spent.
    model_dir = os.path.join(FLAGS.work_dir, f"encoder-{time.strftime('%Y%m%d-%H%M%S')}")
    began = time.perf_counter()
    run = dataclasses.replace(config, train=dataclasses.replace(
        config.train, train_steps=10 ** 6, checkpoint_every=200, summary_every=200, eval_every=10 ** 9))
    trainer = Trainer(build_task("speaker_encoder", run), model_dir)
    steps = trainer.train(shards, max_seconds=FLAGS.minutes * 60).step
    minutes = (time.perf_counter() - began) / 60
    rows.append((f"tiny, trained {minutes:.1f} min", steps, minutes,
                 evaluate_encoder(trainer.model, config, shards)["metrics"]))

    wheel = judges.RESEMBLYZER_WHEEL
    if os.path.isfile(wheel):
        from tfclone.models.resemblyzer import import_resemblyzer, resemblyzer_config

        rz_dir = os.path.join(FLAGS.work_dir, "resemblyzer")
        import_resemblyzer(wheel, rz_dir)
        rz_config = resemblyzer_config()
        rz = build_speaker_encoder(rz_config.audio, rz_config.model)
        restore_model(rz, rz_dir)
        rows.append(("Resemblyzer pretrained", 1560000, float("nan"), evaluate_encoder(rz, rz_config, shards)["metrics"]))

    print(f"\nheld-out speakers: {FLAGS.test_speakers} of {FLAGS.speakers} synthetic voices")
    print(f"{'encoder':<32}{'steps':>9}{'EER':>9}{'minDCF':>9}")
    for name, n, _, m in rows:
        print(f"{name:<32}{n:>9}{m['eer']:>9.2%}{m['min_dcf']:>9.3f}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
