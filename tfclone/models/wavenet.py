"""WaveNet vocoder (arXiv 1609.03499) with local conditioning on the mel spectrogram, and fast generation
(Paine et al., arXiv 1611.09482).

Training (`call`): causal dilated convolutions over the whole segment at once (teacher forcing): input is
the mu-law-quantized waveform shifted by one sample, output the 256-way logits of each sample.

Generation (`generate`): one tf.while_loop over samples; each layer keeps the inputs it will need again
(x[t - d] for dilation d) in a TensorArray written at t + d and read (and freed) at t, so a sample costs one
pass through the layer stack: O(layers), never re-running the convolutions. Per layer, the past and present
inputs go through one matmul with the stacked conv kernel, and the skip and residual 1x1 convs through one.
`generate_folded` splits one utterance into overlapping segments generated as a batch and cross-faded.

Output heads: a 256-way mu-law softmax (default), a discretized mixture of logistics over 16-bit samples
(PixelCNN++, arXiv 1701.05517, as Parallel WaveNet and Deep Voice use it), or one Laplace (the L1 loss of
the seed's WaveNet, as a likelihood with a learned scale) or Gaussian per sample (ClariNet's single
Gaussian); their losses: tfclone.losses.wavenet; the residual block: tfclone.layers.wavenet. Optional global conditioning on
a speaker embedding, projected and added to every gate like the mel (the paper's global conditioning).
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfclone.audio import mulaw
from tfclone.config.audio import AudioConfig
from tfclone.config.experiments import VocoderModelConfig
from tfclone.layers.tracking import track_for_checkpoints
from tfclone.layers.wavenet import ResidualBlock
from tfclone.losses.wavenet import LOG_SCALE_MIN, MOL_BITS

XLA_SEGMENT_BUCKET = 4  # folded generation under XLA: segments per loop are padded to a multiple of this


def categorical(logits, seed):
    """One class per row of logits [B, N], drawn with probability softmax(logits), from one uniform per row
    (inverse CDF): the first class whose running sum of probabilities exceeds u times their total.

    In the generation loop this is ~5x cheaper under XLA:CPU than tf.random.stateless_categorical, which
    draws a uniform and takes two logs per class (Gumbel-max). The running sums are a matmul with an upper
    triangular matrix of ones: each column adds the same probabilities in the same order and adding a zero
    changes nothing, so they never decrease, and a class of probability zero is never chosen (u < 1 - 1e-6
    keeps the threshold below the total)."""
    n = tf.shape(logits)[-1]
    probabilities = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    cumulative = tf.matmul(probabilities, tf.linalg.band_part(tf.ones([n, n]), 0, -1))
    u = tf.random.stateless_uniform([tf.shape(logits)[0], 1], seed=seed, maxval=1.0 - 1e-6)
    return tf.argmax(tf.cast(cumulative > u * cumulative[:, -1:], tf.int32), axis=-1, output_type=tf.int32)


class WaveNet(keras.Model):
    def __init__(self, n_mels=80, hop_length=200, layers=24, dilation_cycle=12, kernel_size=2, residual_channels=64,
                 gate_channels=64, skip_channels=256, mulaw_channels=256, upsample="transposed",
                 condition_channels=80, output="mulaw", mixture_components=10, speaker_dim=0,
                 tail_silence_db=0.0, log_floor=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.n_mels, self.hop_length, self.num_layers, self.dilation_cycle = n_mels, hop_length, layers, dilation_cycle
        self.kernel_size, self.residual_channels, self.gate_channels = kernel_size, residual_channels, gate_channels
        self.skip_channels, self.mulaw_channels, self.upsample = skip_channels, mulaw_channels, upsample
        self.condition_channels = condition_channels
        self.output_head, self.mixture_components, self.speaker_dim = output, mixture_components, speaker_dim
        self.tail_silence_db, self.log_floor = tail_silence_db, log_floor
        self.out_channels = {"mulaw": mulaw_channels, "mol": 3 * mixture_components}.get(output, 2)
        self.dilations = [2 ** (i % dilation_cycle) for i in range(layers)]
        if upsample == "transposed":
            self.upsampler = keras.layers.Conv1DTranspose(condition_channels, 2 * hop_length, strides=hop_length,
                                                          padding="same", name="upsample")
        else:  # repeat each frame hop times, then smooth across frame edges
            self.upsampler = keras.layers.Conv1D(condition_channels, 3, padding="same", name="upsample")
        self.input_layer = keras.layers.Dense(residual_channels, name="input")
        self.blocks = [ResidualBlock(residual_channels, gate_channels, skip_channels, kernel_size, d,
                                     speaker=speaker_dim > 0, name=f"block_{i}")
                       for i, d in enumerate(self.dilations)]
        track_for_checkpoints(self, self.blocks)
        self.head_1 = keras.layers.Dense(skip_channels, name="head_1")
        self.head_2 = keras.layers.Dense(self.out_channels, name="head_2")

    @property
    def receptive_field(self) -> int:
        return (self.kernel_size - 1) * sum(self.dilations) + 1

    def upsample_condition(self, mel):
        """mel [B, F, n_mels] -> [B, F * hop, C]: one conditioning vector per sample."""
        if self.upsample == "transposed":
            return self.upsampler(mel)
        return self.upsampler(tf.repeat(mel, self.hop_length, axis=1))

    def quantize_audio(self, audio):
        """What the network sees of a waveform: its mu-law class decoded, or the 16-bit sample (MoL)."""
        if self.output_head == "mulaw":
            return mulaw.decode(mulaw.encode(audio, self.mulaw_channels), self.mulaw_channels)
        levels = float(2 ** (MOL_BITS - 1) - 1)
        return tf.round(tf.clip_by_value(audio, -1.0, 1.0) * levels) / levels

    def network_input(self, quantized):
        """The previous sample as the network sees it: mu-law companded (the class's level in [-1, 1], so
        quiet speech is not a tiny input), or the 16-bit sample itself (MoL)."""
        return mulaw.compress(quantized, self.mulaw_channels) if self.output_head == "mulaw" else quantized

    def call(self, inputs, training=False):
        """Teacher forcing: {"audio": [B, S] in [-1, 1], "mel": [B, S / hop, n_mels], optionally
        "speaker_embedding": [B, E]} -> head outputs [B, S, 256 logits or 3K mixture parameters].
        Output t predicts sample t from the quantized samples before it and the conditioning at t."""
        quantized = self.quantize_audio(inputs["audio"])
        previous = tf.pad(quantized[:, :-1], [[0, 0], [1, 0]])[..., None]  # [B, S, 1]
        condition = self.upsample_condition(inputs["mel"])
        speaker = inputs.get("speaker_embedding") if self.speaker_dim else None
        if self.speaker_dim and speaker is None:
            raise ValueError("this WaveNet is conditioned on a speaker: inputs need 'speaker_embedding'")
        x = self.input_layer(self.network_input(previous))
        skips = 0.0
        for block in self.blocks:
            x, skip = block(x, condition, speaker)
            skips = skips + skip
        return self.head_2(tf.nn.relu(self.head_1(tf.nn.relu(skips))))

    # ------------------------------------------------------------------------------------- generation
    def incremental_logits(self, previous_samples, condition, speaker=None, cache="tensor_array"):
        """Runs the fast (queue-cached) path with given inputs instead of sampling, for tests: previous
        samples [B, S] (already quantized), upsampled condition [B, S, C] -> head outputs [B, S, channels]."""
        logits, _ = self._run(condition, previous_samples=previous_samples, speaker=speaker, cache=cache)
        return logits

    def sample(self, outputs, temperature=1.0, seed=None):
        """One step's head outputs [B, channels] -> samples [B] in [-1, 1]. `temperature` divides the
        softmax logits (mu-law) or the mixture weights' logits and multiplies the logistic scales (MoL), or
        multiplies the scale of the Laplace or Gaussian;
        0 < temperature < 1 trades variety for fewer clicks."""
        seed = tf.zeros([2], tf.int32) if seed is None else seed
        if self.output_head == "mulaw":
            return mulaw.decode(categorical(outputs / temperature, seed), self.mulaw_channels)
        if self.output_head in ("laplace", "gaussian"):
            mean, scale = outputs[:, 0], tf.exp(tf.maximum(outputs[:, 1], LOG_SCALE_MIN))
            if self.output_head == "laplace":  # inverse CDF of a uniform in (-1/2, 1/2)
                u = tf.random.stateless_uniform(tf.shape(mean), seed=seed, minval=-0.5 + 1e-6, maxval=0.5 - 1e-6)
                noise = -tf.sign(u) * tf.math.log1p(-2.0 * tf.abs(u))
            else:
                noise = tf.random.stateless_normal(tf.shape(mean), seed=seed)
            return self.quantize_audio(mean + temperature * scale * noise)
        weights, means, log_scales = tf.split(outputs, 3, axis=-1)
        component = categorical(weights / temperature, seed)[:, None]  # [B, 1]
        mean = tf.gather(means, component, batch_dims=1)[:, 0]
        log_scale = tf.maximum(tf.gather(log_scales, component, batch_dims=1)[:, 0], LOG_SCALE_MIN)
        u = tf.random.stateless_uniform(tf.shape(mean), seed=seed + [1, 0], minval=1e-5, maxval=1.0 - 1e-5)
        value = mean + temperature * tf.exp(log_scale) * (tf.math.log(u) - tf.math.log1p(-u))
        return self.quantize_audio(value)

    def _run(self, condition, previous_samples=None, temperature=1.0, seed=None, speaker=None, cache="tensor_array"):
        """The generation loop: upsampled condition [B, S, C] -> (head outputs [B, S, channels], samples [B, S]).
        With `previous_samples` [B, S] the loop is fed them (teacher forcing, for tests) instead of sampling.

        cache "tensor_array": each layer's past inputs in a TensorArray written once and read once (nothing
        copied; the fastest in plain graph mode). cache "ring": a [(k-1) d, B, R] ring buffer per layer
        updated in place, the form XLA compiles (jit_compile cannot scatter into a TensorArray); in plain
        graph mode the update copies the buffer every step."""
        batch, steps = tf.shape(condition)[0], tf.shape(condition)[1]
        two_g, num_layers = 2 * self.gate_channels, len(self.blocks)
        # The conditioning is projected step by step inside the loop: projecting all steps up front would
        # hold S x L x 2G floats (2 GB for 5 s with the default config).
        condition_steps = tf.transpose(tf.cast(condition, tf.float32), [1, 0, 2])  # [S, B, C]
        speaker_term = tf.zeros([batch, num_layers, two_g])
        if self.speaker_dim:
            if speaker is None:
                raise ValueError("this WaveNet is conditioned on a speaker: pass speaker_embedding")
            speaker_kernel = tf.concat([b.speaker.kernel for b in self.blocks], axis=1)  # [E, L * 2G]
            speaker_term = tf.reshape(tf.matmul(speaker, speaker_kernel), [batch, num_layers, two_g])
        given = None if previous_samples is None else tf.transpose(previous_samples)  # [S, B]
        seed = tf.zeros([2], tf.int32) if seed is None else seed
        skip_kernel = tf.concat([b.skip_weights()[0] for b in self.blocks], axis=0)  # [L * G, K]
        skip_bias = tf.add_n([b.skip_weights()[1] for b in self.blocks])
        weights = [b.step_weights() for b in self.blocks]
        condition_kernel = tf.concat([b.condition.kernel for b in self.blocks], axis=1)  # [C, L * 2G]
        histories, taps = (self._ring_cache(batch) if cache == "ring"
                           else self._tensor_array_cache(steps, batch))
        outputs = tf.TensorArray(tf.float32, size=steps)
        samples = tf.TensorArray(tf.float32, size=steps)

        def body(t, previous, histories, outputs, samples):
            x = self.input_layer(self.network_input(previous)[:, None])
            cond_t = tf.reshape(tf.matmul(condition_steps[t], condition_kernel), [batch, num_layers, two_g])
            cond_t = cond_t + speaker_term
            gates, new_histories = [], []
            for i, (block, history) in enumerate(zip(self.blocks, histories)):
                past, history = taps(t, i, history, x)
                new_histories.append(history)
                # the last layer's residual output is not used
                gated, x = block.step(tf.concat(past + [x], axis=-1), weights[i], cond_t[:, i],
                                      x if i + 1 < num_layers else None)
                gates.append(gated)
            skips = tf.matmul(tf.concat(gates, axis=-1), skip_kernel) + skip_bias
            logits = self.head_2(tf.nn.relu(self.head_1(tf.nn.relu(skips))))  # [B, channels]
            if given is not None:
                following = given[tf.minimum(t + 1, steps - 1)]
            else:
                following = self.sample(logits, temperature, tf.stack([seed[0], seed[1] + t]))
            return t + 1, following, new_histories, outputs.write(t, logits), samples.write(t, following)

        first = tf.zeros([batch]) if given is None else given[0]
        _, _, _, outputs, samples = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), first, histories, outputs, samples),
            parallel_iterations=1)
        return tf.transpose(outputs.stack(), [1, 0, 2]), tf.transpose(samples.stack())

    def _tensor_array_cache(self, steps, batch):
        """Per layer a TensorArray of its inputs: x_in[t] is written at index t + (k-1) d and read at
        t + j d, j < k-1; the first (k-1) d are zeros. Returns (initial histories, taps) where
        taps(t, layer, history, x) -> (the layer's past inputs, oldest first; the history with x stored)."""
        k, r = self.kernel_size, self.residual_channels
        histories = []
        for d in self.dilations:
            ta = tf.TensorArray(tf.float32, size=steps + (k - 1) * d, element_shape=[None, r],
                                clear_after_read=(k == 2))
            histories.append(ta.scatter(tf.range((k - 1) * d), tf.zeros([(k - 1) * d, batch, r])))

        def taps(t, i, history, x):
            d = self.dilations[i]
            return [history.read(t + j * d) for j in range(k - 1)], history.write(t + (k - 1) * d, x)

        return histories, taps

    def _ring_cache(self, batch):
        """Per layer a ring buffer [(k-1) d, B, R] (x_in[t] at slot t mod (k-1) d, zeros before the start)
        and the past inputs the current step needs. Those are read at the end of the previous step, after
        its write: a read before the write in the same iteration makes XLA copy the whole buffer every
        step, a read after it lets XLA update the buffer in place. Returns (initial histories, taps) as
        `_tensor_array_cache` does.

        (Tried in session 4: one flat buffer for all layers, written by one scatter and read by one gather,
        with every layer's past taps and conditioning in one batched matmul: equal at 8 per loop, 23-29%
        slower at 32, because XLA:CPU's scatter and batched dot are slower than the per-layer ops.)"""
        k, r = self.kernel_size, self.residual_channels
        zeros = tf.zeros([batch, r])
        histories = [(tf.zeros([(k - 1) * d, batch, r]), [zeros] * (k - 1)) for d in self.dilations]

        def taps(t, i, history, x):
            d = self.dilations[i]
            size = (k - 1) * d
            buffer, past = history
            buffer = tf.tensor_scatter_nd_update(buffer, [[t % size]], x[None])
            # next step's taps: x_in[t + 1 - (k-1-j) d] sits at slot (t + 1 + j d) mod (k-1) d
            return past, (buffer, [buffer[(t + 1 + j * d) % size] for j in range(k - 1)])

        return histories, taps

    def tail_gain(self, mel, lengths):
        """Silence at the tail: mel [B, F, n_mels], sample lengths [B] -> gain [B, F * hop] that is 1 up to the
        last frame within `tail_silence_db` of the utterance's loudest frame, fades to 0 over one hop, and
        stays 0 after, so a sampled vocoder does not hiss or click over the silence Tacotron pads with. It
        also zeroes samples past each length. tail_silence_db = 0 only masks by length."""
        samples = tf.shape(mel)[1] * self.hop_length
        mask = tf.sequence_mask(lengths, samples, tf.float32)
        if not self.tail_silence_db:
            return mask
        frames = tf.shape(mel)[1]
        valid = tf.sequence_mask(lengths // self.hop_length, frames)
        peak_db = tf.reduce_max(tf.cast(mel, tf.float32), axis=-1) * (20.0 / math.log(10.0))  # [B, F]
        peak_db = tf.where(valid, peak_db, -1e9)
        loud = peak_db >= tf.reduce_max(peak_db, axis=1, keepdims=True) - self.tail_silence_db
        last = frames - 1 - tf.argmax(tf.cast(tf.reverse(loud, [1]), tf.int32), axis=1, output_type=tf.int32)
        end = (last + 1) * self.hop_length  # fade over the hop after the last loud frame
        t = tf.range(samples)[None, :]
        fade = tf.clip_by_value(tf.cast(end[:, None] + self.hop_length - t, tf.float32) / self.hop_length, 0.0, 1.0)
        return mask * fade

    def generate(self, mel, mel_length=None, temperature: float = 1.0, seed=None, speaker_embedding=None,
                 cache: str = "tensor_array", xla: bool = False, loops: int = 1):
        """mel [B, F, n_mels] -> (audio [B, F * hop], audio_length [B]); samples past each length are zeroed
        (and the silent tail faded out when `tail_silence_db` is set). `xla` compiles the loop with XLA
        (ring-buffer caches; `cache` is then ignored). With `loops` > 1 and at least that many utterances,
        the batch is shared among that many concurrent loops (as `generate_folded` does)."""
        mel = tf.cast(mel, tf.float32)
        seed = tf.zeros([2], tf.int32) if seed is None else seed
        one_loop = lambda: self._generate_segments(mel, temperature, seed, speaker_embedding, xla, cache)  # noqa: E731
        if loops > 1:
            batch = tf.shape(mel)[0]

            def shared():
                padding = (batch + loops - 1) // loops * loops - batch
                speaker = None if speaker_embedding is None else tf.pad(speaker_embedding, [[0, padding], [0, 0]])
                padded = tf.pad(mel, [[0, padding], [0, 0], [0, 0]])
                return self._generate_in_loops(padded, temperature, seed, speaker, xla, loops)[:batch]

            audio = tf.cond(batch >= loops, shared, one_loop)
        else:
            audio = one_loop()
        frames = tf.shape(mel)[1] if mel_length is None else None
        lengths = (tf.fill([tf.shape(mel)[0]], frames) if mel_length is None else tf.cast(mel_length, tf.int32)) \
            * self.hop_length
        return audio * self.tail_gain(mel, lengths), lengths

    def _generate_in_loops(self, mel, temperature, seed, speaker, xla: bool, loops: int):
        """mel [N, F, n_mels] with N a multiple of `loops` -> audio [N, F * hop]: `loops` independent loops on
        equal shares of the batch (loop i with seed + [i, 0]), which the runtime runs concurrently (one
        loop of small matmuls cannot keep two CPU cores busy)."""
        speakers = [None] * loops if speaker is None else tf.split(speaker, loops)
        return tf.concat([self._generate_segments(part, temperature, seed + [i, 0], speakers[i], xla)
                          for i, part in enumerate(tf.split(mel, loops))], axis=0)

    def _generate_segments(self, mel, temperature, seed, speaker, xla: bool, cache: str = "tensor_array"):
        """mel [B, F, n_mels], seed [2] -> sampled audio [B, F * hop]: upsampling and the loop, XLA-compiled
        if asked. The callers (generate, generate_folded) have already defaulted the seed."""
        def run(mel, seed, speaker):
            condition = self.upsample_condition(mel)
            return self._run(condition, temperature=temperature, seed=seed, speaker=speaker,
                             cache="ring" if xla else cache)[1]

        if xla:
            run = tf.function(run, jit_compile=True, autograph=False)
        return run(mel, seed, speaker)

    def generate_folded(self, mel, mel_length, segment_frames: int, overlap_frames: int, pad_value: float,
                        temperature: float = 1.0, seed=None, speaker_embedding=None, loops: int = 1,
                        xla: bool = False):
        """One utterance mel [F, n_mels] -> audio [F * hop]: overlapping segments generated as a batch and
        cross-faded linearly over `overlap_frames` (as RTVC's WaveRNN folds). The segments are shared out
        among `loops` concurrent generation loops (one per core is right on a CPU). `xla` compiles each."""
        hop, seg, ov = self.hop_length, segment_frames, overlap_frames
        mel = tf.cast(mel[:mel_length], tf.float32)
        frames = tf.shape(mel)[0]
        count = (frames + seg - 1) // seg
        # Padded with silent segments so the loops share evenly; under XLA, to a multiple of XLA_SEGMENT_BUCKET
        # per loop, so one compiled program serves a range of utterance lengths (XLA compiles per shape).
        per_loop = (count + loops - 1) // loops
        if xla:
            per_loop = (per_loop + XLA_SEGMENT_BUCKET - 1) // XLA_SEGMENT_BUCKET * XLA_SEGMENT_BUCKET
        groups = per_loop * loops
        # ov frames of silence in front so the first fade-in covers padding, not speech.
        padded = tf.concat([tf.fill([ov, self.n_mels], pad_value), mel,
                            tf.fill([groups * seg + ov - frames, self.n_mels], pad_value)], axis=0)
        segments = tf.signal.frame(padded, seg + ov, seg, axis=0)[:groups]  # [N, seg + ov, n_mels]
        speaker = None if speaker_embedding is None else tf.tile(tf.reshape(speaker_embedding, [1, -1]),
                                                                 [groups, 1])
        seed = tf.zeros([2], tf.int32) if seed is None else seed
        audio = self._generate_in_loops(segments, temperature, seed, speaker, xla, loops)[:count]
        fade = tf.linspace(0.0, 1.0, ov * hop) if ov else tf.zeros([0])
        window = tf.concat([fade, tf.ones([(seg - ov) * hop]), 1.0 - fade], axis=0)
        joined = tf.signal.overlap_and_add(audio * window, seg * hop)[ov * hop: ov * hop + frames * hop]
        return joined * self.tail_gain(mel[None], tf.reshape(frames * hop, [1]))[0]

    def get_config(self):
        return {**super().get_config(), "n_mels": self.n_mels, "hop_length": self.hop_length,
                "layers": self.num_layers, "dilation_cycle": self.dilation_cycle, "kernel_size": self.kernel_size,
                "residual_channels": self.residual_channels, "gate_channels": self.gate_channels,
                "skip_channels": self.skip_channels, "mulaw_channels": self.mulaw_channels,
                "upsample": self.upsample, "condition_channels": self.condition_channels, "output": self.output_head,
                "mixture_components": self.mixture_components, "speaker_dim": self.speaker_dim,
                "tail_silence_db": self.tail_silence_db, "log_floor": self.log_floor}


def build_wavenet(audio: AudioConfig, model: VocoderModelConfig, name: str = "wavenet") -> WaveNet:
    speaker_dim = model.speaker_embedding_dim if model.speaker_conditioning else 0
    net = WaveNet(audio.n_mels, audio.hop_length, model.layers, model.dilation_cycle, model.kernel_size,
                  model.residual_channels, model.gate_channels, model.skip_channels, model.mulaw_channels,
                  model.upsample, output=model.output, mixture_components=model.mixture_components,
                  speaker_dim=speaker_dim, tail_silence_db=model.tail_silence_db, log_floor=audio.log_floor,
                  name=name)
    dummy = {"audio": tf.zeros([1, 2 * audio.hop_length]), "mel": tf.zeros([1, 2, audio.n_mels])}
    if speaker_dim:
        dummy["speaker_embedding"] = tf.zeros([1, speaker_dim])
    net(dummy)
    return net
