"""tfclone-make-corpus: a multi-speaker corpus with transcripts, made offline.

Sources (comma-separated to mix them into one corpus):
  kokoro        natural voices of Kokoro-82M (28 English stock voices + distinct blends; needs
                `bash scripts/setup.sh --kokoro`)
  synthesizers  flite / festival / espeak-ng voices with sox pitch and tempo variants (alias: local)
  asterisk      the real Asterisk English prompts (one speaker, Allison Smith, CC-BY-SA-3.0)
"""
import json

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
SOURCES = ("kokoro", "synthesizers", "local", "asterisk")
flags.DEFINE_string("out_dir", None, "Folder to write the corpus into (resumable).")
flags.DEFINE_list("source", ["synthesizers"], f"One or more of {', '.join(SOURCES)}, comma-separated.")
flags.DEFINE_integer("speakers", 40, "Number of speakers per synthetic source (kokoro, synthesizers).")
flags.DEFINE_integer("utterances", 100, "Utterances per synthetic speaker.")
flags.DEFINE_integer("first_utterance", 0, "Speak each voice's drawn sentences from this index on (the draw of "
                     "--utterances is deterministic, a smaller one a prefix of a larger): --utterances 80 "
                     "--first_utterance 40 makes the 40 sentences a voice that a 40-sentence corpus never had.")
flags.DEFINE_integer("sample_rate", None, "Output sample rate (default: 22050 when kokoro is among the "
                     "sources, else 16000). Resampled with soxr.")
flags.DEFINE_enum("sentence_pool", "prompts", ["prompts", "broad", "wordnet"], "The sentences voices draw from: "
                  "prompts (the Asterisk prompts + templated sentences: ~20 sentence shapes, a few hundred words), "
                  "broad (those + ~5,500 single sentences of prose from Debian's fortunes: ~8,000 words) or wordnet "
                  "(only WordNet's ~23,000 usage examples: ~19,000 words). A corpus keeps the pool it was begun "
                  "with: its voices' draws depend on it. To give a corpus sentences of another pool, make a new "
                  "folder with that pool and --first_utterance past the first corpus's count, and preprocess the "
                  "two folders together (tfclone-preprocess --corpus_dir A,B).")
flags.DEFINE_integer("seed", 0, "Seed for the sentence choice and the Kokoro blends.")
flags.DEFINE_integer("workers", None, "Worker processes (default: all cores).")
flags.DEFINE_string("pretrained_dir", "pretrained", "Where set-up put the Kokoro pieces and Resemblyzer wheel.")
flags.DEFINE_float("kokoro_threshold", 0.90, "A Kokoro blend is kept only if its Resemblyzer cosine to every "
                   "voice kept before it is below this.")
flags.DEFINE_string("kokoro_voices", None, "A voice_selection.json from an earlier run whose decisions (same "
                    "threshold and seed) are reused instead of synthesizing and embedding the candidates again; "
                    "default: the 60-voice record the project ships. Empty: decide afresh.")
flags.DEFINE_integer("heldout_utterances", None, "kokoro: held-out voices speak only the first N of their "
                     "sentences (from --first_utterance): their reference clips, in a fraction of the time; "
                     "default: as many as every voice.")
flags.DEFINE_list("heldout", None, "Kokoro voices marked held out (test split); default: six stock voices.")
flags.mark_flag_as_required("out_dir")


def main(argv):
    del argv
    from tfclone.data import make_corpus
    from tfclone.data.kokoro import KokoroError
    from tfclone.data.sentences import sentence_pool

    unknown = [s for s in FLAGS.source if s not in SOURCES]
    if unknown or not FLAGS.source:
        raise app.UsageError(f"--source: unknown source {unknown} (known: {', '.join(SOURCES)})")
    rate = FLAGS.sample_rate or (22050 if "kokoro" in FLAGS.source else 16000)
    summaries, failed = {}, []
    try:
        for source in FLAGS.source:
            if source == "asterisk":
                summary = make_corpus.import_asterisk(FLAGS.out_dir, sample_rate=rate)
            elif source == "kokoro":
                from tfclone.data import kokoro_corpus

                summary = kokoro_corpus.make_kokoro_corpus(
                    FLAGS.out_dir, FLAGS.speakers, FLAGS.utterances, FLAGS.seed, FLAGS.workers, rate,
                    FLAGS.pretrained_dir, FLAGS.kokoro_threshold,
                    FLAGS.heldout if FLAGS.heldout is not None else kokoro_corpus.DEFAULT_HELDOUT,
                    selection=(kokoro_corpus.SHIPPED_SELECTION if FLAGS.kokoro_voices is None
                               else FLAGS.kokoro_voices or None), first_utterance=FLAGS.first_utterance,
                    sentences=sentence_pool(FLAGS.seed, pool=FLAGS.sentence_pool),
                    heldout_utterances=FLAGS.heldout_utterances)
            else:
                summary = make_corpus.make_corpus(FLAGS.out_dir, FLAGS.speakers, FLAGS.utterances, FLAGS.seed,
                                                  FLAGS.workers, sample_rate=rate,
                                                  first_utterance=FLAGS.first_utterance,
                                                  pool=FLAGS.sentence_pool)
            failed += summary.pop("failed", [])
            summaries[source] = summary
    except (make_corpus.CorpusError, KokoroError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None
    print(json.dumps({**summaries, "failed": len(failed)}, indent=1))
    for message in failed[:10]:
        print("failed:", message)
    return 1 if failed and not any(s["utterances"] for s in summaries.values()) else 0


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
