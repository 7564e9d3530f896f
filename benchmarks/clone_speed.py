"""The whole cloning chain's speed on this machine: what a user waits for, stage by stage.

For each vocoder exported in --models whose audio preset matches the synthesizer's (hifigan, vocoder =
WaveNet, griffin_lim), after a warm-up call:
  sentence     one ~5 s sentence at batch 1: time per stage (speaker encoder, synthesizer, vocoder, file
               write), real-time factor (compute seconds / audio seconds)
  paragraph    ten sentences, batched as tfclone-clone does
  first audio  from the call to the first audio a player gets: Cloner.stream's first piece (what
               `tfclone-clone --out -` writes first; with HiFi-GAN a head of the first sentence), and the
               first whole sentence (what `--stream` writes as <out>-001.wav)
  encoder      the speaker encoder on a 10 s clip (the reference repeated), preprocessing included
and first, for the default vocoder, as a user runs it (before this process loads anything):
  cold start   process start of `tfclone-clone` to the written file, one sentence (loading and compiling
               included): the first run with XLA's compilation cache as found, then the median of
               --repeats more with it filled (every later run of a user)
  peak memory  the largest resident set of a cold `tfclone-clone` of the paragraph (what a user's run
               costs), beside this process's (every vocoder loaded at once)

The peers' figures were measured on a 2-core machine of this same kind (torch 2.13, each peer's default
configuration, median of 3) and cannot be re-run here: they are printed as the fixed reference they are.
Figures differ several-fold between CPUs; the first line names this one (benchmarks/timing.machine). The last
line, parsed by tools, is for the default vocoder (cold start: the cache filled; memory: the cold paragraph run):
  chain: RTF <x> (<y>x real time), first audio <z> s, cold start <c> s, peak memory <m> GiB

    python benchmarks/clone_speed.py [--models pretrained/models] [--reference examples/arctic_slt_a0009.wav]
    python benchmarks/clone_speed.py --models DIR --smoke     # tiny run (CI): short texts, one repeat, one cold process
"""
import os
import resource
import subprocess
import sys
import tempfile
import time

from absl import app, flags

import timing  # benchmarks/timing.py (this folder is on sys.path when a benchmark runs)

FLAGS = flags.FLAGS
flags.DEFINE_string("models", "pretrained/models", "Exported models folder.")
flags.DEFINE_string("reference", "examples/arctic_slt_a0009.wav", "The voice to clone.")
flags.DEFINE_integer("repeats", 3, "Timed repeats per case (the median is reported).")
flags.DEFINE_boolean("smoke", False, "A quick CI run: short texts, one repeat, one cold process, no timing claims.")
flags.DEFINE_boolean("cold", True, "Also time a cold tfclone-clone process.")

SENTENCE = "The lighthouse keeper wrote a long letter to his sister every single winter, without fail."
PARAGRAPH = ("The museum reopened on a bright morning in early spring. Visitors waited at the gate before "
             "nine. A small orange cat slept on the warm stones beside the fountain. Inside, the new hall "
             "smelled of fresh paint and old wood. Children pressed their faces to the glass cases. A guide "
             "explained how the ship model had been built by hand. Nobody noticed the rain beginning outside. "
             "By noon, the cafe had run out of bread. The director thanked everyone for their patience. "
             "Then the doors closed quietly at five.")
PEERS = [("Real-Time-Voice-Cloning: Tacotron + folded WaveRNN, whole chain, 5 s sentence", "RTF ~3.3"),
         ("NVIDIA Tacotron 2 + WaveGlow, whole chain", "RTF ~2.3"),
         ("RTVC's Tacotron decoder alone", "5.5x real time"),
         ("NVIDIA Tacotron 2 decoder alone", "3.0x real time"),
         ("Resemblyzer encoder with its preprocessing", "~340x real time")]


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20  # KiB on Linux


def stage_times(cloner, text):
    """(seconds per stage, audio seconds) for one call through the runner's pieces."""
    import numpy as np

    from tfclone.audio import io

    times = {}
    began = time.perf_counter()
    embedding = cloner.embed(FLAGS.reference)
    times["encoder"] = time.perf_counter() - began
    pieces = cloner.sentences(text)
    lengths = np.array([len(ids) for _, ids in pieces], np.int32)
    token_ids = np.zeros([len(pieces), lengths.max()], np.int32)
    for i, (_, ids) in enumerate(pieces):
        token_ids[i, :len(ids)] = ids
    speaker = np.repeat(embedding[None].astype(np.float32), len(pieces), axis=0)
    began = time.perf_counter()
    mel = cloner.decode(speaker, [ids for _, ids in pieces])
    times["synthesizer"] = time.perf_counter() - began
    began = time.perf_counter()
    audio = cloner.vocode(mel["mel"], mel["mel_length"], speaker=speaker)
    times["vocoder"] = time.perf_counter() - began
    waves = [audio["audio"][i, :int(audio["audio_length"][i])] for i in range(len(pieces))]
    joined = cloner.join(waves)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        io.save(os.path.join(tmp, "out.wav"), joined, cloner.sample_rate)
    times["write"] = time.perf_counter() - began
    return times, len(joined) / cloner.sample_rate


def first_audio(cloner, text) -> tuple:
    """(seconds to Cloner.stream's first piece, seconds to the first whole sentence), both from the call."""
    began = time.perf_counter()
    for _ in cloner.stream(FLAGS.reference, text):
        piece = time.perf_counter() - began
        break
    began = time.perf_counter()
    for _ in cloner.clone_sentences(FLAGS.reference, text, batch=1):
        return piece, time.perf_counter() - began
    raise RuntimeError("nothing synthesized")


def encoder_speed(cloner, repeats: int) -> float:
    """Times real time of the speaker encoder on a 10 s clip (the reference repeated), loading included."""
    import numpy as np

    from tfclone.audio import io

    wav = io.load(FLAGS.reference, cloner.encoder_rate)
    clip = np.tile(wav, -(-10 * cloner.encoder_rate // len(wav)))[:10 * cloner.encoder_rate]
    cloner.embed((clip, cloner.encoder_rate))  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        cloner.embed((clip, cloner.encoder_rate))
        times.append(time.perf_counter() - began)
    return 10.0 / median(times)


def cold_run(vocoder: str, text: str) -> tuple:
    """(seconds, peak resident GiB) of one `tfclone-clone` process, from its start to the written file."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [os.path.join(os.path.dirname(sys.executable), "tfclone-clone"), "--models", FLAGS.models,
                   "--reference", FLAGS.reference, "--text", text, "--out", os.path.join(tmp, "cold.wav"),
                   "--vocoder", vocoder]
        began = time.perf_counter()
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest child's
            process.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - began
            if process.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"tfclone-clone failed: {err.read()[-1000:]}")
    return seconds, usage.ru_maxrss / 2 ** 20  # KiB on Linux


def main(argv):
    del argv
    from tfclone.config.registry import VOCODERS
    from tfclone.export.layout import audio_mismatch, default_vocoder, latest_version, read_config
    from tfclone.inference import Cloner

    repeats = 1 if FLAGS.smoke else FLAGS.repeats
    sentence = "Good morning, how are you?" if FLAGS.smoke else SENTENCE
    paragraph = "One small test. Two small tests." if FLAGS.smoke else PARAGRAPH
    synthesizer_audio = read_config(latest_version(FLAGS.models, "synthesizer"), "synthesizer").audio
    default = default_vocoder(FLAGS.models, synthesizer_audio)
    vocoders = []
    for name in VOCODERS:
        try:
            path = latest_version(FLAGS.models, name)
        except Exception:  # pylint: disable=broad-except
            continue
        if audio_mismatch(synthesizer_audio, read_config(path, name).audio) is None:
            vocoders.append(name)
    print(f"models {FLAGS.models}; vocoders {', '.join(vocoders)} (default {default}); {timing.machine()}"
          + ("; SMOKE RUN: no timing claims" if FLAGS.smoke else ""))
    cold, cold_memory = float("nan"), float("nan")
    if FLAGS.cold:  # first, while nothing else is loaded: a user's run of tfclone-clone
        if not FLAGS.smoke:  # smoke: one cold process (each costs a TensorFlow start), the paragraph's
            first_cold = cold_run(default, sentence)[0]
            cold = median([cold_run(default, sentence)[0] for _ in range(repeats)])
        paragraph_cold, cold_memory = cold_run(default, paragraph)
        if FLAGS.smoke:
            first_cold = cold = paragraph_cold
        print(f"cold tfclone-clone, one sentence ({default}): {cold:.1f} s (first run, XLA cache as found: "
              f"{first_cold:.1f} s); one paragraph: {paragraph_cold:.1f} s, peak memory {cold_memory:.2f} GiB")
    results = {}
    for vocoder in vocoders:
        cloner = Cloner(FLAGS.models, vocoder=vocoder)
        stage_times(cloner, sentence)  # warm-up: loading, tracing, compiling
        runs = [stage_times(cloner, sentence) for _ in range(repeats)]
        stages = {k: median([r[0][k] for r in runs]) for k in runs[0][0]}
        seconds = runs[0][1]
        compute = sum(stages.values())
        paragraph_runs = [stage_times(cloner, paragraph) for _ in range(repeats)]
        p_compute = median([sum(r[0].values()) for r in paragraph_runs])
        p_seconds = paragraph_runs[0][1]
        firsts = [first_audio(cloner, paragraph) for _ in range(repeats)]
        first, first_sentence = median([f[0] for f in firsts]), median([f[1] for f in firsts])
        results[vocoder] = (compute / seconds, first)
        print(f"\n[{vocoder}] sentence {seconds:.2f} s of audio: " +
              ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items()) +
              f"; RTF {compute / seconds:.3f} ({seconds / compute:.1f}x real time)")
        print(f"[{vocoder}] paragraph {p_seconds:.1f} s of audio in {p_compute:.2f} s: RTF {p_compute / p_seconds:.3f}; "
              f"first audio {first:.2f} s (stream's first piece; first whole sentence {first_sentence:.2f} s)")
        if vocoder == vocoders[0]:
            print(f"speaker encoder, 10 s clip, preprocessing included: {encoder_speed(cloner, repeats):.0f}x real time")
    print(f"\npeak memory of this process (every vocoder loaded): {peak_gib():.2f} GiB")
    print("peers (fixed reference figures, measured elsewhere on a 2-core machine of this kind; not re-run here):")
    for name, figure in PEERS:
        print(f"  {name:<80}{figure}")
    rtf, first = results[default]
    print(f"chain: RTF {rtf:.3f} ({1 / rtf:.1f}x real time), first audio {first:.2f} s, cold start {cold:.1f} s, "
          f"peak memory {cold_memory:.2f} GiB")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
