"""Copy-synthesis quality of a CPU-trained WaveNet: trains a vocoder config on a corpus and, every
--eval_minutes, vocodes the ground-truth mels of held-out utterances (folded, as the export does) and
prints the mel-cepstral distortion (tfclone.eval.mcd) against the real audio, with Griffin-Lim's MCD on
the same utterances from the same run as the baseline, and the teacher-forced loss (cross-entropy per
sample) on fixed held-out segments: the measure that tells two configs apart long before the sampled
audio is good enough for MCD to (see --steps for comparing configs at equal training).

    python benchmarks/vocoder_mcd.py --corpus local --minutes 20            # 12 synthetic voices
    python benchmarks/vocoder_mcd.py --corpus asterisk --minutes 20         # the real single speaker
    python benchmarks/vocoder_mcd.py --config configs/vocoder/base.yaml --steps 1500 --eval_steps 500
    python benchmarks/vocoder_mcd.py --corpus shards --shards_dir WORK/shards/natural1 \
        --config configs/vocoder/demo.yaml --params_override model.output=laplace --steps 600   # made shards

The table gives wall minutes and the process's CPU minutes (all threads): runs beside other work compare by
CPU time or by steps, not by wall time.

Wavs of the last evaluation go to <work_dir>/<corpus>/listen/.
"""
import dataclasses
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_enum("corpus", "local", ["local", "asterisk", "shards"],
                  "Which corpus to make and train on; shards: existing TFRecords at --shards_dir (test split held out).")
flags.DEFINE_string("shards_dir", None, "With --corpus shards: a tfclone-preprocess output folder.")
flags.DEFINE_string("work_dir", "/tmp/tfclone-vocoder", "Corpus, shards and model_dir (reused).")
flags.DEFINE_integer("speakers", 12, "local: synthetic speakers.")
flags.DEFINE_integer("utterances", 60, "local: utterances per speaker.")
flags.DEFINE_float("minutes", 20.0, "Training time budget.")
flags.DEFINE_float("eval_minutes", 5.0, "Evaluate after about this much training.")
flags.DEFINE_integer("steps", 0, "Train this many steps instead of --minutes (equal steps compare configs).")
flags.DEFINE_integer("eval_steps", 500, "With --steps: evaluate every this many steps.")
flags.DEFINE_integer("held_out_batches", 8, "Held-out segment batches for the teacher-forced loss.")
flags.DEFINE_integer("seed", None, "Overrides train.seed (initialization and data order).")
flags.DEFINE_integer("eval_utterances", 6, "Held-out utterances vocoded per evaluation.")
flags.DEFINE_float("max_seconds", 3.0, "Held-out utterances are cut to this length.")
flags.DEFINE_string("config", "configs/vocoder/tiny.yaml", "Vocoder config.")
flags.DEFINE_string("model_dir", None, "Where to train (resumed if it holds a checkpoint); default a new "
                    "<work_dir>/<corpus>/vocoder-<time> folder.")
flags.DEFINE_string("params_override", "", "Overrides for the vocoder config.")


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.audio import features, io
    from tfclone.config import experiment_config
    from tfclone.data.make_corpus import import_asterisk, make_corpus
    from tfclone.data.preprocess import PreprocessOptions, preprocess
    from tfclone.eval.mcd import mel_cepstral_distortion
    from tfclone.eval.speaker_verification import read_split
    from tfclone.data import pipeline
    from tfclone.export.vocoder import vocode
    from tfclone.tasks import build_task
    from tfclone.losses.wavenet import wavenet_loss
    from tfclone.training.trainer import Trainer

    work = os.path.join(FLAGS.work_dir, FLAGS.corpus)
    corpus, shards = os.path.join(work, "corpus"), os.path.join(work, "shards")
    if FLAGS.corpus == "shards":
        if not FLAGS.shards_dir or not os.path.exists(os.path.join(FLAGS.shards_dir, "summary.json")):
            raise app.UsageError(f"--shards_dir {FLAGS.shards_dir!r}: not a tfclone-preprocess output "
                                 "(no summary.json)")
        shards = FLAGS.shards_dir
    elif FLAGS.corpus == "local":
        make_corpus(corpus, FLAGS.speakers, FLAGS.utterances)
        options = PreprocessOptions("local", corpus, test_speakers=1, validation_fraction=0.05)
    else:
        import_asterisk(corpus)
        options = PreprocessOptions("local", corpus, test_speakers=0, validation_fraction=0.05)
    if FLAGS.corpus != "shards" and not os.path.exists(os.path.join(shards, "summary.json")):
        preprocess(options, shards)
    held_out_split = "validation" if FLAGS.corpus == "asterisk" else "test"
    config = experiment_config("vocoder", [FLAGS.config], FLAGS.params_override)
    if FLAGS.seed is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=FLAGS.seed))
    rate = config.audio.sample_rate
    clips = [a[:int(FLAGS.max_seconds * rate)] for a in read_split(shards, held_out_split)[0]]
    clips = clips[:FLAGS.eval_utterances]
    mels = [features.mel_spectrogram(c, config.audio) for c in clips]
    griffin_lim = [features.griffin_lim(m[None], config.audio, iterations=32)[0].numpy() for m in mels]
    gl_mcd = float(np.mean([mel_cepstral_distortion(g, c, rate) for g, c in zip(griffin_lim, clips)]))
    # The scale, from the same utterances: the truth with white noise 30 dB below its RMS.
    noise_rng = np.random.default_rng(0)
    noisy_mcd = float(np.mean([mel_cepstral_distortion(
        c + np.sqrt(np.mean(c ** 2)) * 10 ** (-30 / 20) * noise_rng.standard_normal(len(c)).astype(np.float32),
        c, rate) for c in clips]))
    print(f"{len(clips)} held-out utterances ({held_out_split}), {sum(map(len, clips)) / rate:.1f} s; "
          f"Griffin-Lim (32 iterations) MCD {gl_mcd:.2f} dB; the truth + white noise at 30 dB SNR "
          f"{noisy_mcd:.2f} dB", flush=True)

    # Fixed held-out segments (the same for every config with the same data settings and seed).
    fixed = dataclasses.replace(config, data=dataclasses.replace(config.data, deterministic=True))
    held_out = list(pipeline.vocoder_dataset(fixed, shards, held_out_split).take(FLAGS.held_out_batches))

    def held_out_loss(model):
        m = config.model
        return float(np.mean([tf.reduce_mean(wavenet_loss(model(b), b["audio"], m.mulaw_channels, m.output))
                              for b in held_out]))

    model_dir = FLAGS.model_dir or os.path.join(work, f"vocoder-{time.strftime('%Y%m%d-%H%M%S')}")
    rows, steps, trained, cpu = [], 0, 0.0, 0.0
    listen = os.path.join(work, "listen")

    while (steps < FLAGS.steps) if FLAGS.steps else (trained < FLAGS.minutes * 60):
        began, began_cpu = time.perf_counter(), time.process_time()
        # To the next evaluation: eval_steps more steps, or (timed) eval_minutes to a 50-step boundary.
        target = min(steps + FLAGS.eval_steps, FLAGS.steps) if FLAGS.steps else 10 ** 6
        run = dataclasses.replace(config, train=dataclasses.replace(
            config.train, train_steps=target, checkpoint_every=10 ** 6, summary_every=50, eval_every=10 ** 9))
        trainer = Trainer(build_task("vocoder", run), model_dir)
        budget = None if FLAGS.steps else min(FLAGS.eval_minutes * 60, FLAGS.minutes * 60 - trained)
        result = trainer.train(shards, max_seconds=budget)
        trained += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        steps = result.step
        model = trainer.ema_model or trainer.model
        generate = tf.function(lambda m, n: vocode(model, config, m, n, True, tf.constant([0, 0]))["audio"],
                               input_signature=[tf.TensorSpec([1, None, config.audio.n_mels]),
                                                tf.TensorSpec([1], tf.int32)])
        wavs, mcds = [], []
        for clip, mel in zip(clips, mels):
            wav = generate(mel[None], tf.constant([mel.shape[0]]))[0].numpy()[:len(clip)]
            wavs.append(wav)
            mcds.append(mel_cepstral_distortion(wav, clip, rate))
        rows.append((trained / 60, cpu / 60, steps, float(result.metrics.get("loss", np.nan)), held_out_loss(model),
                     float(np.mean(mcds))))
        print(f"[{trained / 60:5.1f} min, CPU {cpu / 60:5.1f} min, step {steps}] train loss {rows[-1][3]:.3f}  "
              f"held-out loss {rows[-1][4]:.3f}  WaveNet MCD {rows[-1][5]:.2f} dB  (Griffin-Lim {gl_mcd:.2f} dB)",
              flush=True)
    os.makedirs(listen, exist_ok=True)
    for i, (clip, wav, gl) in enumerate(zip(clips, wavs, griffin_lim)):
        io.save(os.path.join(listen, f"{i}_truth.wav"), clip, rate)
        io.save(os.path.join(listen, f"{i}_wavenet.wav"), wav, rate)
        io.save(os.path.join(listen, f"{i}_griffin_lim.wav"), gl[:len(clip)], rate)
    print(f"\n{FLAGS.corpus}, {FLAGS.config} {FLAGS.params_override}")
    print(f"{'minutes':>8}{'CPU min':>8}{'steps':>7}{'loss':>8}{'held-out loss':>15}{'WaveNet MCD':>13}"
          f"{'Griffin-Lim MCD':>17}")
    for minutes, cpu_minutes, n, loss, held, mcd in rows:
        print(f"{minutes:>8.1f}{cpu_minutes:>8.1f}{n:>7}{loss:>8.3f}{held:>15.3f}{mcd:>13.2f}{gl_mcd:>17.2f}")
    print(f"scale: the truth + white noise at 30 dB SNR {noisy_mcd:.2f} dB")
    print(f"wavs: {listen}; TensorBoard: {model_dir}/train")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
