"""tfclone-preprocess: a corpus -> manifest, splits, speaker map and TFRecord shards for all three models."""
import json

from absl import app, flags

from tfclone.cli import run_tool

from tfclone.data.corpora import READERS

FLAGS = flags.FLAGS
flags.DEFINE_enum("corpus", None, sorted(READERS), "Corpus layout of --corpus_dir.")
flags.DEFINE_string("corpus_dir", None, "The corpus folder; several of one layout, comma-separated, are read as "
                    "one corpus (a tfclone-make-corpus corpus and its extension made with --first_utterance).")
flags.DEFINE_string("out_dir", None, "Where the shards go (re-running skips finished shards and rewrites "
                    "the ones --verify found damaged).")
flags.DEFINE_string("verify", None, "Instead of preprocessing: check every shard of this preprocessed folder "
                    "(CRC, parsing, audio, counts against the sidecars); exit 1 if any is damaged.")
flags.DEFINE_integer("sample_rate", 16000, "Sample rate of the stored audio.")
flags.DEFINE_float("trim_top_db", 40.0, "Trim leading/trailing audio this far below the peak (0: off).")
flags.DEFINE_float("min_seconds", 0.5, "Skip shorter utterances (after trimming).")
flags.DEFINE_float("max_seconds", 20.0, "Skip longer utterances.")
flags.DEFINE_integer("test_speakers", -1, "Held-out speakers (-1: 10%, at least 1 with >= 3 speakers).")
flags.DEFINE_list("test_speaker_names", [], "Hold out exactly these speakers (default: those a tfclone-make-corpus "
                  "corpus marks heldout, else --test_speakers chosen by hash).")
flags.DEFINE_float("validation_fraction", 0.05, "Fraction of training speakers' utterances for validation.")
flags.DEFINE_integer("utterances_per_shard", 256, "Utterances per TFRecord file.")
flags.DEFINE_integer("workers", None, "Worker processes (default: all cores).")



def verify_main(data_dir: str) -> int:
    from tfclone.data.pipeline import DataError
    from tfclone.data.verify import verify

    try:
        report = verify(data_dir, workers=FLAGS.workers, use_cache=False)
    except DataError as e:
        raise app.UsageError(str(e)) from None
    for problem in report["problems"]:
        print(problem.line())
    bad = report["problems"]
    skipped = sum(p.skipped_records for p in bad)
    print(f"{data_dir}: {report['shards']} shards, {report['records']} records; "
          + (f"{len(bad)} damaged shard(s), {skipped} record(s) unreadable. Re-run tfclone-preprocess with "
             f"--out_dir {data_dir} to rewrite them." if bad else "all readable."))
    return 1 if bad else 0


def main(argv):
    del argv
    if FLAGS.verify:
        return verify_main(FLAGS.verify)
    missing = [f"--{name}" for name in ("corpus", "corpus_dir", "out_dir") if not getattr(FLAGS, name)]
    if missing:
        raise app.UsageError(f"give {', '.join(missing)} (or --verify DIR)")
    from tfclone.data.corpora import CorpusLayoutError
    from tfclone.data.preprocess import PreprocessOptions, preprocess

    options = PreprocessOptions(
        corpus=FLAGS.corpus, corpus_dir=FLAGS.corpus_dir, sample_rate=FLAGS.sample_rate,
        trim_top_db=FLAGS.trim_top_db, min_seconds=FLAGS.min_seconds, max_seconds=FLAGS.max_seconds,
        test_speakers=FLAGS.test_speakers, test_speaker_names=tuple(FLAGS.test_speaker_names),
        validation_fraction=FLAGS.validation_fraction,
        utterances_per_shard=FLAGS.utterances_per_shard)
    try:
        summary = preprocess(options, FLAGS.out_dir, FLAGS.workers)
    except (CorpusLayoutError, ValueError) as e:
        raise app.UsageError(str(e)) from None
    summary.pop("skipped_examples")
    print(json.dumps(summary, indent=1))


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
