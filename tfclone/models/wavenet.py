"""WaveNet vocoder (arXiv 1609.03499) with local conditioning on the mel spectrogram, and fast generation
(Paine et al., arXiv 1611.09482).

Training (`call`): causal dilated convolutions over the whole segment at once (teacher forcing): input is
the mu-law-quantized waveform shifted by one sample, output the 256-way logits of each sample.

Generation (`generate`): one tf.while_loop over samples; each layer keeps the inputs it will need again
(x[t - d] for dilation d) in a TensorArray written at t + d and read (and freed) at t, so a sample costs one
pass through the layer stack: O(layers), never re-running the convolutions. Per layer, the past and present
inputs go through one matmul with the stacked conv kernel, and the skip and residual 1x1 convs through one.
`generate_folded` splits one utterance into overlapping segments generated as a batch and cross-faded.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfclone.audio import mulaw
from tfclone.config.audio import AudioConfig
from tfclone.config.experiments import VocoderModelConfig
from tfclone.layers.tracking import track_for_checkpoints


class ResidualBlock(keras.layers.Layer):
    """Gated dilated causal conv with local conditioning, then the skip and residual 1x1 convs (§2.3-2.5)."""

    def __init__(self, residual_channels, gate_channels, skip_channels, kernel_size, dilation, **kwargs):
        super().__init__(**kwargs)
        self.residual_channels, self.gate_channels, self.skip_channels = residual_channels, gate_channels, skip_channels
        self.kernel_size, self.dilation = kernel_size, dilation
        self.conv = keras.layers.Conv1D(2 * gate_channels, kernel_size, dilation_rate=dilation, padding="causal",
                                        name="dilated_conv")
        self.condition = keras.layers.Dense(2 * gate_channels, use_bias=False, name="condition")
        self.out = keras.layers.Dense(skip_channels + residual_channels, name="skip_residual")

    def call(self, x, condition):
        """x [B, S, R], condition [B, S, C] -> (residual output [B, S, R], skip [B, S, K])."""
        z = self.conv(x) + self.condition(condition)
        gated = tf.tanh(z[..., :self.gate_channels]) * tf.sigmoid(z[..., self.gate_channels:])
        skip, residual = tf.split(self.out(gated), [self.skip_channels, self.residual_channels], axis=-1)
        return (x + residual) * math.sqrt(0.5), skip

    def get_config(self):
        return {**super().get_config(), "residual_channels": self.residual_channels,
                "gate_channels": self.gate_channels, "skip_channels": self.skip_channels,
                "kernel_size": self.kernel_size, "dilation": self.dilation}


class WaveNet(keras.Model):
    def __init__(self, n_mels=80, hop_length=200, layers=24, dilation_cycle=12, kernel_size=2, residual_channels=64,
                 gate_channels=128, skip_channels=256, mulaw_channels=256, upsample="transposed",
                 condition_channels=80, **kwargs):
        super().__init__(**kwargs)
        self.n_mels, self.hop_length, self.num_layers, self.dilation_cycle = n_mels, hop_length, layers, dilation_cycle
        self.kernel_size, self.residual_channels, self.gate_channels = kernel_size, residual_channels, gate_channels
        self.skip_channels, self.mulaw_channels, self.upsample = skip_channels, mulaw_channels, upsample
        self.condition_channels = condition_channels
        self.dilations = [2 ** (i % dilation_cycle) for i in range(layers)]
        if upsample == "transposed":
            self.upsampler = keras.layers.Conv1DTranspose(condition_channels, 2 * hop_length, strides=hop_length,
                                                          padding="same", name="upsample")
        else:  # repeat each frame hop times, then smooth across frame edges
            self.upsampler = keras.layers.Conv1D(condition_channels, 3, padding="same", name="upsample")
        self.input_layer = keras.layers.Dense(residual_channels, name="input")
        self.blocks = [ResidualBlock(residual_channels, gate_channels, skip_channels, kernel_size, d, name=f"block_{i}")
                       for i, d in enumerate(self.dilations)]
        track_for_checkpoints(self, self.blocks)
        self.head_1 = keras.layers.Dense(skip_channels, name="head_1")
        self.head_2 = keras.layers.Dense(mulaw_channels, name="head_2")

    @property
    def receptive_field(self) -> int:
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def upsample_condition(self, mel):
        """mel [B, F, n_mels] -> [B, F * hop, C]: one conditioning vector per sample."""
        if self.upsample == "transposed":
            return self.upsampler(mel)
        return self.upsampler(tf.repeat(mel, self.hop_length, axis=1))

    def call(self, inputs, training=False):
        """Teacher forcing: {"audio": [B, S] in [-1, 1], "mel": [B, S / hop, n_mels]} -> logits [B, S, 256].
        logits[:, t] predicts sample t from the quantized samples before it and the conditioning at t."""
        quantized = mulaw.decode(mulaw.encode(inputs["audio"], self.mulaw_channels), self.mulaw_channels)
        previous = tf.pad(quantized[:, :-1], [[0, 0], [1, 0]])[..., None]  # [B, S, 1]
        condition = self.upsample_condition(inputs["mel"])
        x = self.input_layer(previous)
        skips = 0.0
        for block in self.blocks:
            x, skip = block(x, condition)
            skips = skips + skip
        return self.head_2(tf.nn.relu(self.head_1(tf.nn.relu(skips))))

    # ------------------------------------------------------------------------------------- generation
    def _step_weights(self):
        """Per layer: stacked conv kernel [k * R, 2G] (oldest input first) and bias; all conditioning
        projections as one [C, L * 2G] matrix."""
        convs = [(tf.reshape(b.conv.kernel, [-1, 2 * self.gate_channels]), b.conv.bias) for b in self.blocks]
        condition = tf.concat([b.condition.kernel for b in self.blocks], axis=1)
        return convs, condition

    def incremental_logits(self, previous_samples, condition):
        """Runs the fast (queue-cached) path with given inputs instead of sampling, for tests: previous
        samples [B, S] (already quantized), upsampled condition [B, S, C] -> logits [B, S, 256]."""
        logits, _ = self._run(condition, previous_samples=previous_samples)
        return logits

    def _run(self, condition, previous_samples=None, temperature=1.0, seed=None):
        batch, steps = tf.shape(condition)[0], tf.shape(condition)[1]
        convs, condition_kernel = self._step_weights()
        k, two_g = self.kernel_size, 2 * self.gate_channels
        projected = tf.reshape(tf.tensordot(condition, condition_kernel, axes=1), [batch, steps, len(self.blocks), two_g])
        projected = tf.transpose(projected, [1, 2, 0, 3])  # [S, L, B, 2G]: one slice per step
        histories = []
        for d in self.dilations:
            # x_in[t] is written at index t + (k-1) d and read at t + j d, j < k-1. The first (k-1) d are zeros.
            ta = tf.TensorArray(tf.float32, size=steps + (k - 1) * d, element_shape=[None, self.residual_channels],
                                clear_after_read=(k == 2))
            ta = ta.scatter(tf.range((k - 1) * d), tf.zeros([(k - 1) * d, batch, self.residual_channels]))
            histories.append(ta)
        outputs = tf.TensorArray(tf.float32, size=steps)
        samples = tf.TensorArray(tf.float32, size=steps)
        given = None if previous_samples is None else tf.transpose(previous_samples)  # [S, B]
        seed = tf.zeros([2], tf.int32) if seed is None else seed

        def body(t, previous, histories, outputs, samples):
            x = self.input_layer(previous[:, None])
            skips = 0.0
            new_histories = []
            cond_t = projected[t]  # [L, B, 2G]
            for i, (block, (kernel, bias), history) in enumerate(zip(self.blocks, convs, histories)):
                d = self.dilations[i]
                past = [history.read(t + j * d) for j in range(k - 1)]
                history = history.write(t + (k - 1) * d, x)
                z = tf.matmul(tf.concat(past + [x], axis=-1), kernel) + bias + cond_t[i]
                gated = tf.tanh(z[:, :self.gate_channels]) * tf.sigmoid(z[:, self.gate_channels:])
                out = block.out(gated)
                skips = skips + out[:, :self.skip_channels]
                x = (x + out[:, self.skip_channels:]) * math.sqrt(0.5)
                new_histories.append(history)
            logits = self.head_2(tf.nn.relu(self.head_1(tf.nn.relu(skips))))  # [B, 256]
            if given is not None:
                following = given[tf.minimum(t + 1, steps - 1)]
            else:
                step_seed = tf.stack([seed[0], seed[1] + t])
                ids = tf.random.stateless_categorical(logits / temperature, 1, seed=step_seed)[:, 0]
                following = mulaw.decode(ids, self.mulaw_channels)
            return (t + 1, following, new_histories, outputs.write(t, logits), samples.write(t, following))

        first = tf.zeros([batch]) if given is None else given[0]
        _, _, _, outputs, samples = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), first, histories, outputs, samples),
            parallel_iterations=1)
        return tf.transpose(outputs.stack(), [1, 0, 2]), tf.transpose(samples.stack())

    def generate(self, mel, mel_length=None, temperature: float = 1.0, seed=None):
        """mel [B, F, n_mels] -> (audio [B, F * hop], audio_length [B]); samples past each length are zeroed."""
        condition = self.upsample_condition(tf.cast(mel, tf.float32))
        _, audio = self._run(condition, temperature=temperature, seed=seed)
        frames = tf.shape(mel)[1] if mel_length is None else None
        lengths = (tf.fill([tf.shape(mel)[0]], frames) if mel_length is None else tf.cast(mel_length, tf.int32)) \
            * self.hop_length
        return audio * tf.sequence_mask(lengths, tf.shape(audio)[1], tf.float32), lengths

    def generate_folded(self, mel, mel_length, segment_frames: int, overlap_frames: int, pad_value: float,
                        temperature: float = 1.0, seed=None):
        """One utterance mel [F, n_mels] -> audio [F * hop]: overlapping segments generated as one batch and
        cross-faded linearly over `overlap_frames` (as RTVC's WaveRNN folds)."""
        hop, seg, ov = self.hop_length, segment_frames, overlap_frames
        mel = tf.cast(mel[:mel_length], tf.float32)
        frames = tf.shape(mel)[0]
        count = (frames + seg - 1) // seg
        # ov frames of silence in front so the first fade-in covers padding, not speech.
        padded = tf.concat([tf.fill([ov, self.n_mels], pad_value), mel,
                            tf.fill([count * seg + ov - frames, self.n_mels], pad_value)], axis=0)
        segments = tf.signal.frame(padded, seg + ov, seg, axis=0)[:count]  # [N, seg + ov, n_mels]
        audio, _ = self.generate(segments, temperature=temperature, seed=seed)  # [N, (seg + ov) * hop]
        fade = tf.linspace(0.0, 1.0, ov * hop) if ov else tf.zeros([0])
        window = tf.concat([fade, tf.ones([(seg - ov) * hop]), 1.0 - fade], axis=0)
        joined = tf.signal.overlap_and_add(audio * window, seg * hop)
        return joined[ov * hop: ov * hop + frames * hop]

    def get_config(self):
        return {**super().get_config(), "n_mels": self.n_mels, "hop_length": self.hop_length,
                "layers": self.num_layers, "dilation_cycle": self.dilation_cycle, "kernel_size": self.kernel_size,
                "residual_channels": self.residual_channels, "gate_channels": self.gate_channels,
                "skip_channels": self.skip_channels, "mulaw_channels": self.mulaw_channels,
                "upsample": self.upsample, "condition_channels": self.condition_channels}


def build_wavenet(audio: AudioConfig, model: VocoderModelConfig) -> WaveNet:
    net = WaveNet(audio.n_mels, audio.hop_length, model.layers, model.dilation_cycle, model.kernel_size,
                  model.residual_channels, model.gate_channels, model.skip_channels, model.mulaw_channels,
                  model.upsample, name="wavenet")
    net({"audio": tf.zeros([1, 2 * audio.hop_length]), "mel": tf.zeros([1, 2, audio.n_mels])})
    return net


def wavenet_loss(logits, audio, channels: int = 256):
    """Per-example mean cross entropy of the mu-law class of every sample: [B, S, C], [B, S] -> [B]."""
    labels = mulaw.encode(audio, channels)
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(logits, tf.float32)), axis=1)

