"""tfclone-quickstart: the whole pipeline at tiny scale on CPU in about --minutes (default 15): make a
small multi-speaker corpus, train the tiny speaker encoder, synthesizer and vocoder for a few minutes
each, export them (with models.config), and clone a held-out voice saying a new sentence.

    tfclone-quickstart --work_dir quickstart

Tiny models trained for minutes make rough, mumbled speech; the point is that every stage runs and
leaves its evidence: the wav, TensorBoard logs and the attention alignment picture.
"""
import dataclasses
import glob
import os
import time

from absl import flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", "quickstart", "Where the corpus, model_dirs and exports go (reused on a re-run).")
flags.DEFINE_float("minutes", 15.0, "Total time budget; training gets what corpus making and export leave.")
flags.DEFINE_integer("speakers", 12, "Synthetic speakers in the corpus.")
flags.DEFINE_integer("utterances", 40, "Utterances per speaker.")
flags.DEFINE_string("text", "The quick brown fox jumps over the lazy dog. Voice cloning works on a CPU.",
                    "What the cloned voice says.")
flags.DEFINE_integer("chunk_steps", 100, "Log, checkpoint and draw the plots every this many steps; training stops "
                     "at the end of the chunk in which its time runs out.")

SHARES = {"speaker_encoder": 0.2, "synthesizer": 0.6, "vocoder": 0.2}  # of the training time


def train_for(model: str, config, model_dir: str, data_dir: str, seconds: float, chunk: int) -> int:
    """Trains (continuing model_dir's checkpoint, if any) for `seconds`; returns the step reached."""
    from tfclone.tasks import build_task
    from tfclone.training.trainer import Trainer

    run = dataclasses.replace(config, train=dataclasses.replace(
        config.train, train_steps=10 ** 6, checkpoint_every=chunk, summary_every=chunk, eval_every=chunk))
    return Trainer(build_task(model, run), model_dir).train(data_dir, max_seconds=seconds).step


def main(argv):
    del argv
    from tfclone.audio import io
    from tfclone.config import experiment_config
    from tfclone.data.embeddings import compute_embeddings
    from tfclone.data.make_corpus import make_corpus
    from tfclone.data.preprocess import PreprocessOptions, preprocess
    from tfclone.eval.speaker_verification import read_split
    from tfclone.export.all_models import export_all
    from tfclone.export.speaker_encoder import export_speaker_encoder
    from tfclone.inference import Cloner

    began = time.perf_counter()
    work = os.path.abspath(FLAGS.work_dir)
    corpus, shards, exported = (os.path.join(work, d) for d in ("corpus", "shards", "exported"))
    print(f"[1/6] corpus: {FLAGS.speakers} synthetic voices x {FLAGS.utterances} sentences -> {corpus}", flush=True)
    make_corpus(corpus, FLAGS.speakers, FLAGS.utterances)
    if not os.path.exists(os.path.join(shards, "summary.json")):
        preprocess(PreprocessOptions("local", corpus, test_speakers=2, validation_fraction=0.05), shards)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # configs/ beside tools/
    configs = {m: experiment_config(m, [os.path.join(repo, "configs", m, "tiny.yaml")]) for m in SHARES}
    reserve = 90.0  # export and cloning
    training = max(0.0, FLAGS.minutes * 60 - (time.perf_counter() - began) - reserve)
    dirs = {m: os.path.join(work, "runs", m) for m in SHARES}
    steps = {}
    print(f"[2/6] speaker encoder: training {SHARES['speaker_encoder'] * training / 60:.1f} min", flush=True)
    steps["speaker_encoder"] = train_for("speaker_encoder", configs["speaker_encoder"], dirs["speaker_encoder"],
                                         shards, SHARES["speaker_encoder"] * training, FLAGS.chunk_steps)
    encoder = export_speaker_encoder(configs["speaker_encoder"], dirs["speaker_encoder"], exported)
    compute_embeddings(shards, encoder)
    print(f"[3/6] synthesizer: training {SHARES['synthesizer'] * training / 60:.1f} min", flush=True)
    steps["synthesizer"] = train_for("synthesizer", configs["synthesizer"], dirs["synthesizer"], shards,
                                     SHARES["synthesizer"] * training, FLAGS.chunk_steps)
    print(f"[4/6] vocoder: training {SHARES['vocoder'] * training / 60:.1f} min", flush=True)
    steps["vocoder"] = train_for("vocoder", configs["vocoder"], dirs["vocoder"], shards,
                                 SHARES["vocoder"] * training, FLAGS.chunk_steps)
    print("[5/6] export", flush=True)
    serving = export_all(exported, dirs["speaker_encoder"], dirs["synthesizer"], dirs["vocoder"],
                         already_exported={"speaker_encoder": encoder})
    print("[6/6] clone a held-out voice", flush=True)
    clips, speakers = read_split(shards, "test", max_utterances_per_speaker=1)
    reference = os.path.join(work, "reference.wav")
    io.save(reference, clips[0], configs["speaker_encoder"].audio.sample_rate)
    cloner = Cloner(exported)
    wav = cloner.clone(reference, FLAGS.text, progress=True)
    out = os.path.join(work, "cloned.wav")
    io.save(out, wav, cloner.sample_rate)
    alignment = sorted(glob.glob(os.path.join(dirs["synthesizer"], "plots", "alignment_inference.png")))
    print(f"\ndone in {(time.perf_counter() - began) / 60:.1f} min; steps trained: "
          + ", ".join(f"{m} {n}" for m, n in steps.items()))
    print(f"  held-out voice ({speakers[0]}): {reference}")
    print(f"  cloned speech:   {out} ({len(wav) / cloner.sample_rate:.1f} s)")
    print(f"  alignment:       {alignment[0] if alignment else os.path.join(dirs['synthesizer'], 'plots')}")
    print(f"  TensorBoard:     tensorboard --logdir {os.path.join(work, 'runs')}")
    print(f"  exports:         {exported} (serving config {serving['models_config']})")
    print(f"  again, any text: tfclone-clone --models {exported} --reference {reference} --text \"...\" --out x.wav")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
