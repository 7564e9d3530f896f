"""Speaker encoder speed on CPU: a 10 s clip embedded with preprocessing (volume normalization, silence
trimming, mel, Resemblyzer's partial windows, mean), as the export does, times real time, with the LSTMs
run by Keras's layer (a while loop of per-step ops) beside the fused BlockLSTMV2 kernel the export uses
(`SpeakerEncoder.infer`), and the floor: the recurrent matmuls alone. Random weights of the given config
(Resemblyzer's by default: 3 x 256 units): speed does not depend on them.

    python benchmarks/encoder_speed.py [--config configs/speaker_encoder/resemblyzer.yaml] [--seconds 10]
"""
import os

from absl import app, flags

import timing  # benchmarks/timing.py (this folder is on sys.path when a benchmark runs)

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "configs/speaker_encoder/resemblyzer.yaml", "Speaker encoder config.")
flags.DEFINE_float("seconds", 10.0, "Clip length.")
flags.DEFINE_float("min_time", 5.0, "Seconds to time each case for (at least two calls).")


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.audio.synthetic import speech_like
    from tfclone.config import experiment_config
    from tfclone.models import speaker_encoder as se

    config = experiment_config("speaker_encoder", [FLAGS.config])
    audio, model_config = config.audio, config.model
    encoder = se.build_speaker_encoder(audio, model_config)
    clip = speech_like(FLAGS.seconds, seed=0)[None].astype(np.float32)
    length = tf.constant([clip.shape[1]])
    _, valid = se.partial_starts(length, audio, model_config)
    windows, units = int(valid.numpy().sum()), model_config.lstm_units

    fused = tf.function(lambda a, n: se.embed_utterances(encoder, a, n, audio, model_config))

    class KerasLoop:  # the same embedding with infer() replaced by the Keras layers' call()
        def __getattr__(self, name):
            return getattr(encoder, name)

        def infer(self, mel):
            return encoder(mel)

    keras_loop = tf.function(lambda a, n: se.embed_utterances(KerasLoop(), a, n, audio, model_config))
    np.testing.assert_allclose(fused(clip, length).numpy(), keras_loop(clip, length).numpy(), atol=1e-5)

    # The floor: T sequential [W, units] x [units, 4 units] recurrent matmuls per layer, nothing else.
    frames = model_config.partial_frames
    kernel = tf.random.normal([units, 4 * units])

    @tf.function
    def recurrent_matmuls(h):
        for _ in range(model_config.lstm_layers):
            h = tf.while_loop(lambda t, h: t < frames, lambda t, h: (t + 1, tf.matmul(h, kernel)[:, :units] * 1e-3),
                              (tf.constant(0), h))[1]
        return h

    rows = [("Keras LSTM layers (while loop)", timing.timed(keras_loop, clip, length, min_time=FLAGS.min_time)),
            ("fused BlockLSTMV2 (the export)", timing.timed(fused, clip, length, min_time=FLAGS.min_time)),
            ("floor: the recurrent matmuls alone", timing.timed(recurrent_matmuls, tf.random.normal([windows, units]),
                                                                min_time=FLAGS.min_time))]
    print(f"{FLAGS.seconds:.0f} s clip, {windows} windows of {frames} frames, {model_config.lstm_layers} x "
          f"{units}-unit LSTMs ({FLAGS.config}); {timing.machine()}")
    print(f"{'':38}{'ms':>8}{'x real time':>13}")
    for name, seconds in rows:
        print(f"{name:38}{seconds * 1e3:8.1f}{FLAGS.seconds / seconds:13.1f}")
    print(f"fused vs Keras: {rows[0][1] / rows[1][1]:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
