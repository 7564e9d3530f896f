"""tfclone-make-corpus: speak sentences with Debian's synthesizers into a multi-speaker corpus, or import
the Asterisk English prompts (one real speaker) with --source asterisk."""
import json
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("out_dir", None, "Folder to write the corpus into (resumable).")
flags.DEFINE_enum("source", "synthesizers", ["synthesizers", "asterisk"],
                  "synthesizers: flite/festival/espeak-ng voices; asterisk: the real Asterisk prompts.")
flags.DEFINE_integer("speakers", 40, "Number of synthetic speakers.")
flags.DEFINE_integer("utterances", 100, "Utterances per synthetic speaker.")
flags.DEFINE_integer("sample_rate", 16000, "Output sample rate.")
flags.DEFINE_integer("seed", 0, "Seed for the sentence choice.")
flags.DEFINE_integer("workers", None, "Worker processes (default: all cores).")
flags.mark_flag_as_required("out_dir")


def main(argv):
    del argv
    from tfclone.data import make_corpus

    try:
        if FLAGS.source == "asterisk":
            summary = make_corpus.import_asterisk(FLAGS.out_dir)
        else:
            summary = make_corpus.make_corpus(FLAGS.out_dir, FLAGS.speakers, FLAGS.utterances, FLAGS.seed,
                                              FLAGS.workers, sample_rate=FLAGS.sample_rate)
    except (make_corpus.CorpusError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None
    failed = summary.pop("failed", [])
    print(json.dumps({**summary, "failed": len(failed)}, indent=1))
    for message in failed[:10]:
        print("failed:", message)
    return 1 if failed and not summary["utterances"] else 0


def run():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)


if __name__ == "__main__":
    run()
