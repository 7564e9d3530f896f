"""tfclone-clone: speak any text in the voice of a reference clip.

    tfclone-clone --reference voice.wav --text "Hello there. How are you?" --out speech.wav
    tfclone-clone --reference voice.wav --text_file lines.txt --out speech.wav --stream
    tfclone-clone --reference voice.wav --text "..." --out speech.wav --server localhost:8500 --protocol grpc
    tfclone-clone --reference voice.wav --text_file story.txt --out - | aplay     # play while it speaks

Long text is split into sentences, synthesized in batches and joined with short pauses; the output is
written atomically (nothing is left behind on failure). --stream synthesizes one sentence at a time and
writes each as <out>-NNN.wav as soon as it is ready, then the joined file. --out - writes a WAV stream
(16-bit, length unknown in its header) to standard output as the audio comes: one sentence at a time, the
first in growing pieces (Cloner.stream), so a player starts within about a second; messages go to stderr.
"""
import os
import sys

from absl import flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("reference", None, "A few seconds of the voice to clone (wav, flac, ogg, mp3).")
flags.DEFINE_string("text", None, "What to say.")
flags.DEFINE_string("text_file", None, "A UTF-8 file of text to say (instead of --text).")
flags.DEFINE_string("out", None, "The wav to write, or - for a WAV stream on standard output.")
flags.DEFINE_string("models", "pretrained/models", "The models folder: the shipped one (scripts/setup.sh assembles "
                    "it) or an exported/ folder (SavedModels; with --server, their assets).")
flags.DEFINE_string("server", None, "HOST:PORT of tensorflow_model_server serving the exports.")
flags.DEFINE_enum("protocol", "grpc", ["grpc", "rest"], "With --server: TF Serving's gRPC or REST API.")
flags.DEFINE_enum("vocoder", None, ["hifigan", "vocoder", "griffin_lim"],
                  "hifigan (pretrained), vocoder (our WaveNet) or griffin_lim. Default: the first of these exported "
                  "whose audio preset equals the synthesizer's.")
flags.DEFINE_boolean("stream", False, "Write each sentence's audio as soon as it is ready.")
flags.DEFINE_integer("batch", 8, "Sentences per model call.")
flags.DEFINE_float("pause", 0.25, "Seconds of silence between sentences.")
flags.mark_flags_as_required(["reference", "out"])


def fail(message: str) -> None:
    print(f"tfclone-clone: error: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    del argv
    from tfclone.audio import io
    from tfclone.inference import CloneError, Cloner

    if (FLAGS.text is None) == (FLAGS.text_file is None):
        fail("give exactly one of --text and --text_file")
    text = FLAGS.text
    if FLAGS.text_file is not None:
        try:
            with open(FLAGS.text_file, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            fail(f"--text_file {FLAGS.text_file}: cannot read ({e})")
    if FLAGS.out == "-":
        return stream_to_stdout(text)
    out_dir = os.path.dirname(os.path.abspath(FLAGS.out))
    if not os.path.isdir(out_dir):
        fail(f"--out {FLAGS.out}: folder {out_dir} does not exist")
    if not FLAGS.out.lower().endswith((".wav", ".flac", ".ogg")):
        fail(f"--out {FLAGS.out}: must end in .wav, .flac or .ogg")
    parts = []
    try:
        cloner = Cloner(FLAGS.models, FLAGS.server, FLAGS.protocol, FLAGS.vocoder, pause_seconds=FLAGS.pause,
                        max_batch=FLAGS.batch, preload=False, xla=False)
        waves = []
        stem, ext = os.path.splitext(FLAGS.out)
        for n, (_, wav) in enumerate(cloner.clone_sentences(FLAGS.reference, text, progress=True,
                                                            batch=1 if FLAGS.stream else FLAGS.batch)):
            waves.append(wav)
            if FLAGS.stream:
                part = f"{stem}-{n + 1:03d}{ext}"
                io.save(part, wav, cloner.sample_rate)
                parts.append(part)
                print(part, flush=True)
        joined = cloner.join(waves)
        io.save(FLAGS.out, joined, cloner.sample_rate)
    except CloneError as e:
        for part in parts:  # a failed run leaves nothing behind
            os.remove(part)
        fail(str(e))
    print(f"{FLAGS.out}: {len(waves)} sentence(s), {len(joined) / cloner.sample_rate:.2f} s at "
          f"{cloner.sample_rate} Hz ({cloner.backend.describe()}, {cloner.vocoder})")


def stream_to_stdout(text: str) -> None:
    """--out -: a WAV header of unknown length, then 16-bit samples as each piece is ready. Nothing is
    written before the reference and the text have been checked (a bad input leaves stdout empty)."""
    import numpy as np

    from tfclone.inference import CloneError, Cloner
    from tfclone.studio.formats import pcm16, stream_header

    out = sys.stdout.buffer
    seconds, sentences, started = 0.0, 0, False
    try:
        cloner = Cloner(FLAGS.models, FLAGS.server, FLAGS.protocol, FLAGS.vocoder, pause_seconds=FLAGS.pause,
                        max_batch=FLAGS.batch, preload=False, xla=False)
        pause = np.zeros(int(FLAGS.pause * cloner.sample_rate), np.float32)
        for n, piece in cloner.stream(FLAGS.reference, text, progress=True):
            if not started:
                out.write(stream_header(cloner.sample_rate, "wav"))
                started = True
            if n == sentences:  # a new sentence begins: the pause before it
                piece = np.concatenate([pause, piece]) if n else piece
                sentences += 1
            out.write(pcm16(piece))
            out.flush()
            seconds += len(piece) / cloner.sample_rate
    except CloneError as e:
        fail(str(e))
    except BrokenPipeError:  # the player went away: stop quietly (and keep Python's exit flush quiet too)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    print(f"-: {sentences} sentence(s), {seconds:.2f} s at {cloner.sample_rate} Hz streamed "
          f"({cloner.backend.describe()}, {cloner.vocoder})", file=sys.stderr)


def run():
    run_tool(main, __name__, xla_cache=True, tensorflow_at_start=False, fast_exit=True)


if __name__ == "__main__":
    run()
