"""Would int8 weights or magnitude pruning make the WaveNet's per-sample step faster on this CPU (issue 18)?
Times the matmuls of one generation step of a vocoder config (per layer the dilated conv [B, 2R] x [2R, 2G]
and the residual 1x1 [B, G] x [G, R]; the skip 1x1s as one [B, L G] x [L G, K]; the two head layers) over a
loop of dependent steps, as the generation loop runs them: float32 (today), int8 x int8 with int32
accumulation, int8 weights with float math, and 90%-pruned weights as tf.sparse (TF's only sparse matmul),
in plain graph mode and under XLA. Random weights: speed does not depend on them.

    python benchmarks/wavenet_step_levers.py [--config configs/vocoder/demo.yaml] [--batch 8]
"""
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "configs/vocoder/demo.yaml", "Vocoder config (layers and widths).")
flags.DEFINE_integer("batch", 8, "Rows per step (segments per generation loop in folded generation).")
flags.DEFINE_integer("steps", 2000, "Dependent steps per timed call.")
flags.DEFINE_float("keep", 0.1, "Fraction of weights the pruned case keeps.")


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config

    m = experiment_config("vocoder", [FLAGS.config]).model
    r, g, k = m.residual_channels, m.gate_channels, m.skip_channels
    shapes = [(2 * r, 2 * g), (g, r)] * m.layers + [(m.layers * g, k), (k, k), (k, k)]
    rng = np.random.default_rng(0)
    w32 = [tf.constant(rng.standard_normal(s).astype(np.float32) * 0.1) for s in shapes]
    w8 = [tf.constant(rng.integers(-127, 127, s).astype(np.int8)) for s in shapes]
    x32 = [tf.constant(rng.standard_normal((FLAGS.batch, s[0])).astype(np.float32)) for s in shapes]
    x8 = [tf.constant(rng.integers(-127, 127, (FLAGS.batch, s[0])).astype(np.int8)) for s in shapes]

    def pruned(w):
        w = w.numpy()
        cut = np.quantile(np.abs(w), 1 - FLAGS.keep)
        return tf.sparse.from_dense(np.where(np.abs(w) >= cut, w, 0).astype(np.float32))

    sparse = [pruned(w) for w in w32]
    # Each step's inputs depend on the last step's products, so nothing can be hoisted out of the loop.
    cases = {
        "float32": (lambda xs, ws: [x + 1e-6 * tf.reduce_sum(tf.matmul(x, w)) for x, w in zip(xs, ws)], x32, w32),
        "int8 x int8 -> int32": (lambda xs, ws: [x + tf.cast(tf.reduce_sum(tf.matmul(x, w, output_type=tf.int32)) % 2,
                                                             tf.int8) for x, w in zip(xs, ws)], x8, w8),
        "int8 weights, float math": (lambda xs, ws: [x + 1e-6 * tf.reduce_sum(tf.matmul(x, tf.cast(w, tf.float32)))
                                                     for x, w in zip(xs, ws)], x32, w8),
        f"{1 - FLAGS.keep:.0%} pruned, tf.sparse": (
            lambda xs, ws: [x + 1e-6 * tf.reduce_sum(tf.sparse.sparse_dense_matmul(w, x, adjoint_a=True,
                                                                                   adjoint_b=True))
                            for x, w in zip(xs, ws)], x32, sparse),
    }
    macs = sum(a * b for a, b in shapes) * FLAGS.batch
    print(f"{FLAGS.config}: {len(shapes)} matmuls a step, {macs / 1e6:.2f} M multiply-adds at batch {FLAGS.batch}")
    print(f"{'case':30}{'graph':>7}{'us/step':>10}")
    for name, (body, xs, ws) in cases.items():
        for xla in (False, True):
            if xla and "sparse" in name:
                continue  # XLA has no sparse matmul

            def loop(xs=xs, ws=ws, body=body):
                out = tf.while_loop(lambda t, _: t < FLAGS.steps, lambda t, xs: (t + 1, body(xs, ws)),
                                    (tf.constant(0), xs))[1]
                return tf.add_n([tf.reduce_sum(tf.cast(x, tf.float32)) for x in out])

            run = tf.function(loop, jit_compile=xla)
            run()
            began = time.perf_counter()
            run()
            print(f"{name:30}{'XLA' if xla else 'plain':>7}{(time.perf_counter() - began) / FLAGS.steps * 1e6:10.1f}",
                  flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
