"""Does the exported synthesizer read odd sentences without babbling or cutting them short? For each
sentence below (short, long, numbers, abbreviations, repetitions, a question, a list...), one voice, batch
1, deterministic prenet off: the decoder steps it took against its cap (max_decoder_steps_per_token: a
sentence that runs to the cap never fired its stop token, which is babbling), frames per input token, the
alignment scores of tfclone.eval.alignment (focus, monotonic, coverage, diagonal), and, with
--asr, Whisper's word error rate on the vocoded audio.

    python benchmarks/synthesizer_robustness.py [--models pretrained/models] \
        [--reference examples/arctic_slt_a0009.wav] [--asr]

The last line, for tools: `robustness: <a>/<n> stopped before the cap, <b>/<n> diagonal >= 0.8, frames per
token median <f>, WER mean <w>` (WER "-" without --asr).
"""
import os

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("models", "pretrained/models", "Exported models folder.")
flags.DEFINE_string("reference", "examples/arctic_slt_a0009.wav", "The voice.")
flags.DEFINE_string("vocoder", None, "Vocoder (default: the runner's default).")
flags.DEFINE_boolean("asr", False, "Also transcribe with Whisper base and report WER.")
flags.DEFINE_integer("limit", 0, "Only the first N sentences (0: all).")

SENTENCES = [
    "Yes.",
    "Hello.",
    "Thank you very much.",
    "Is the museum open on Sunday afternoon?",
    "Call me at five five five, zero one nine nine, before ten thirty tomorrow.",
    "On March 14, 2027, the 3 trains left at 9:45 and cost $12.50 each.",
    "Dr. Smith met Mr. Jones at St. Mary's hospital near the old bridge.",
    "Very very very very very good, she said, and then she laughed again and again.",
    "Apples, pears, plums, cherries, grapes, lemons, oranges and figs were on the table.",
    "The committee, after a long and occasionally heated discussion that went on well past midnight, "
    "finally agreed that the new library would open in the spring, provided that the roof was repaired first.",
    "Buffalo buffalo Buffalo buffalo buffalo buffalo Buffalo buffalo.",
    "Quickly!",
]


def main(argv):
    del argv
    import numpy as np

    from tfclone.eval.alignment import alignment_scores
    from tfclone.export.layout import latest_version, read_config
    from tfclone.inference import Cloner
    from tfclone.models.tacotron2 import max_decoder_steps

    synthesizer = read_config(latest_version(FLAGS.models, "synthesizer"), "synthesizer").model
    r, per_token = synthesizer.reduction_factor, synthesizer.max_decoder_steps_per_token
    cloner = Cloner(FLAGS.models, vocoder=FLAGS.vocoder)
    embedding = cloner.embed(FLAGS.reference)
    transcribe = None
    if FLAGS.asr:
        from tfclone.eval.asr import transcribe, wer  # noqa: F811 (the judge, imported only when asked)
    sentences = SENTENCES[:FLAGS.limit] if FLAGS.limit else SENTENCES
    rows = []
    print(f"models {FLAGS.models}; vocoder {cloner.vocoder}; cap {per_token:g} frames per token, at least "
          f"{synthesizer.min_decoder_frames}, r = {r}")
    print(f"{'tokens':>6}{'steps':>6}{'cap':>5}{'frames/tok':>11}{'focus':>7}{'monot':>7}{'cover':>7}{'diag':>6}"
          f"{'WER':>6}  sentence")
    for text in sentences:
        for sentence, ids in cloner.sentences(text):
            result = cloner.synthesize_rows(embedding[None], [ids])[0]
            steps = result.alignment.shape[0]
            cap = int(max_decoder_steps(len(ids), synthesizer))  # as the model computes it
            scores = alignment_scores(result.alignment, steps, len(ids))
            error = None
            if transcribe is not None:
                error = wer(sentence, transcribe(result.audio, cloner.sample_rate))
            rows.append({"steps": steps, "cap": cap, "frames_per_token": steps * r / len(ids), "wer": error,
                         **scores})
            print(f"{len(ids):>6}{steps:>6}{cap:>5}{steps * r / len(ids):>11.2f}{scores['focus']:>7.2f}"
                  f"{scores['monotonic']:>7.2f}{scores['coverage']:>7.2f}{scores['diagonal']:>6.2f}"
                  f"{'-' if error is None else f'{error:.2f}':>6}  {sentence[:60]}")
    stopped = sum(row["steps"] < row["cap"] for row in rows)
    diagonal = sum(row["diagonal"] >= 0.8 for row in rows)
    median = float(np.median([row["frames_per_token"] for row in rows]))
    errors = [row["wer"] for row in rows if row["wer"] is not None]
    mean_wer = f"{np.mean(errors):.3f}" if errors else "-"
    print(f"robustness: {stopped}/{len(rows)} stopped before the cap, {diagonal}/{len(rows)} diagonal >= 0.8, "
          f"frames per token median {median:.2f}, WER mean {mean_wer}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
