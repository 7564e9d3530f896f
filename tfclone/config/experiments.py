"""The experiment configs (speaker encoder, synthesizer, WaveNet vocoder, HiFi-GAN): audio + data + model +
train. Which model uses which is tfclone/config/registry.py's table.

Defaults are the paper sizes of DESIGN.md; `configs/<model>/tiny.yaml` shrinks them for tests and CPU.
"""
from __future__ import annotations

import dataclasses
from typing import Literal, Optional, Tuple

from tfclone.config.audio import AudioConfig, encoder_audio, hifigan_audio, synthesis_audio
from tfclone.config.base import Config


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """The Trainer loop's settings, shared by all three models."""

    batch_size: int = 32  # global batch; the loss is divided by it
    train_steps: int = 100000
    learning_rate: float = 1e-3
    lr_schedule: Literal["constant", "exponential", "warmup_exponential"] = "constant"
    warmup_steps: int = 0
    decay_steps: int = 50000
    decay_rate: float = 0.5
    min_learning_rate: float = 1e-5
    clip_norm: float = 1.0  # global-norm gradient clipping; 0 disables
    checkpoint_every: int = 1000
    max_checkpoints: int = 5
    summary_every: int = 100  # scalars and the log line
    eval_every: int = 5000  # pictures, audio and held-out metrics (and at the end of training)
    eval_batches: int = 16  # synthesizer: validation batches its held-out loss averages over (0: all of them)
    mixed_precision: bool = False  # mixed_float16 with a LossScaleOptimizer
    nonfinite_loss: Literal["skip", "stop"] = "skip"  # a NaN/Inf step never reaches a checkpoint
    checkpoint_input: bool = True  # checkpoint the input iterator too, so a resumed run continues the data
    seed: int = 1234

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "batch_size", "train_steps", "learning_rate", "decay_steps",
                               "checkpoint_every", "max_checkpoints", "summary_every", "eval_every")
        if self.warmup_steps < 0:
            self._fail(prefix, "warmup_steps", "must be >= 0")
        if not 0.0 < self.decay_rate <= 1.0:
            self._fail(prefix, "decay_rate", "must be in (0, 1]")
        if self.eval_batches < 0:
            self._fail(prefix, "eval_batches", "must be >= 0 (0: the whole validation split)")
        if self.clip_norm < 0:
            self._fail(prefix, "clip_norm", "must be >= 0 (0 disables clipping)")
        if not 0 <= self.min_learning_rate <= self.learning_rate:
            self._fail(prefix, "min_learning_rate", f"must be in [0, learning_rate={self.learning_rate}]")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """Where the preprocessed shards are and how batches are formed (tfclone/data)."""

    retired_keys = ("data_dir",)  # never read: the tools take --data_dir

    shuffle_buffer: int = 2048
    deterministic: bool = False  # fixed order and crops, for tests
    # speaker encoder: N speakers x M utterances, partial_frames-long random crops
    speakers_per_batch: int = 64
    utterances_per_speaker: int = 10
    # synthesizer: length buckets of token counts
    bucket_boundaries: Tuple[int, ...] = (40, 80, 120, 160, 240)
    max_mel_frames: int = 1000
    # vocoder: random segments of this many mel frames (audio = frames * hop)
    segment_frames: int = 40
    # A damaged shard: "fail" stops training with an error naming it (after a checkpoint of the last
    # completed step); "skip" reads it up to its first bad record (verified before training) and goes on.
    on_corrupt: Literal["fail", "skip"] = "fail"

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "shuffle_buffer", "speakers_per_batch", "utterances_per_speaker",
                               "max_mel_frames", "segment_frames")
        if self.utterances_per_speaker < 2:
            self._fail(prefix, "utterances_per_speaker", "GE2E needs >= 2 utterances per speaker")
        if list(self.bucket_boundaries) != sorted(set(self.bucket_boundaries)) or any(
                b <= 0 for b in self.bucket_boundaries):
            self._fail(prefix, "bucket_boundaries", "must be positive and strictly increasing")


@dataclasses.dataclass(frozen=True)
class SpeakerEncoderModelConfig(Config):
    """GE2E (arXiv 1710.10467): LSTM stack -> linear -> (ReLU) -> L2 norm."""

    lstm_layers: int = 3
    lstm_units: int = 768
    lstm_projection: int = 256  # 0: no projection (Resemblyzer: 256 units, no projection)
    embedding_dim: int = 256
    final_relu: bool = False  # Resemblyzer applies ReLU before the L2 norm
    partial_frames: int = 160  # 1.6 s at 10 ms hop
    partial_rate: float = 1.3  # partial windows per second at inference (Resemblyzer: 1.3/s)
    min_coverage: float = 0.75  # keep the last partial only if it covers this much
    volume_normalize_dbfs: Optional[float] = None  # raise quieter utterances to this RMS (Resemblyzer: -30)
    # Trim long silences before embedding (Resemblyzer's webrtcvad step, by window energy: tfclone/audio/vad.py)
    vad_trim: bool = False
    vad_threshold_db: float = 40.0  # a 30 ms window is voiced within this many dB of the loudest window
    vad_floor_dbfs: float = -55.0  # ... and louder than this
    loss: Literal["softmax", "contrast"] = "softmax"
    init_w: float = 10.0
    init_b: float = -5.0

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "lstm_layers", "lstm_units", "embedding_dim", "partial_frames",
                               "partial_rate")
        if self.lstm_projection < 0:
            self._fail(prefix, "lstm_projection", "must be >= 0")
        if not 0.0 < self.min_coverage <= 1.0:
            self._fail(prefix, "min_coverage", "must be in (0, 1]")
        if self.init_w <= 0:
            self._fail(prefix, "init_w", "GE2E keeps w > 0")


@dataclasses.dataclass(frozen=True)
class SynthesizerModelConfig(Config):
    """Tacotron 2 (arXiv 1712.05884) conditioned on a speaker embedding (SV2TTS, arXiv 1806.04558)."""

    symbol_embedding_dim: int = 512
    encoder_conv_layers: int = 3
    encoder_conv_channels: int = 512
    encoder_conv_kernel: int = 5
    encoder_lstm_units: int = 256  # per direction
    speaker_embedding_dim: int = 256
    attention_dim: int = 128
    attention_filters: int = 32
    attention_kernel: int = 31
    prenet_units: Tuple[int, ...] = (256, 256)
    prenet_dropout: float = 0.5
    decoder_lstm_units: int = 1024
    zoneout: float = 0.1
    dropout: float = 0.5
    reduction_factor: int = 2
    postnet_layers: int = 5  # 0 disables the postnet
    postnet_channels: int = 512
    postnet_kernel: int = 5
    stop_threshold: float = 0.5
    stop_positive_weight: float = 5.0  # BCE weight of the rare "stop" class
    max_decoder_steps_per_token: float = 10.0  # inference bound: mel frames per input token
    min_decoder_frames: int = 0  # inference bound's floor, in mel frames (short sentences)
    attention_window_back: int = 0  # inference only: attend within [focus - back, focus + ahead]; 0, 0 = off
    attention_window_ahead: int = 0
    guided_attention_sigma: float = 0.2
    guided_attention_weight: float = 1.0
    guided_attention_decay_steps: int = 0  # weight halves every this many steps; 0 keeps it constant
    # Export only: jit_compile the free-running decode loop for batches of 1-2 (fixed-size buffers; token
    # widths padded to a multiple of 16 so that compiled programs are reused); larger batches run the plain
    # graph, which is faster there. TF Serving: --xla_cpu_compilation_enabled.
    xla: bool = True

    # Read only by inference or by the loss: a training run resumes after any of them changes (e.g. a
    # stronger guided-attention term for a run that does not align).
    GENERATION_FIELDS = ("stop_threshold", "max_decoder_steps_per_token", "min_decoder_frames",
                         "attention_window_back", "attention_window_ahead", "xla")
    LOSS_FIELDS = ("stop_positive_weight", "guided_attention_sigma", "guided_attention_weight",
                   "guided_attention_decay_steps")

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "symbol_embedding_dim", "encoder_conv_channels", "encoder_conv_kernel",
                               "encoder_lstm_units", "speaker_embedding_dim", "attention_dim",
                               "attention_filters", "attention_kernel", "decoder_lstm_units",
                               "reduction_factor", "max_decoder_steps_per_token", "guided_attention_sigma")
        for name in ("prenet_dropout", "zoneout", "dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                self._fail(prefix, name, "must be in [0, 1)")
        if not 0.0 < self.stop_threshold < 1.0:
            self._fail(prefix, "stop_threshold", "must be in (0, 1)")
        if self.encoder_conv_layers < 0 or self.postnet_layers < 0:
            self._fail(prefix, "postnet_layers" if self.postnet_layers < 0 else "encoder_conv_layers",
                       "must be >= 0")
        if self.min_decoder_frames < 0:
            self._fail(prefix, "min_decoder_frames", "must be >= 0")
        if self.attention_window_back < 0 or self.attention_window_ahead < 0:
            self._fail(prefix, "attention_window_back", "window sizes must be >= 0")
        if self.guided_attention_weight < 0 or self.guided_attention_decay_steps < 0:
            self._fail(prefix, "guided_attention_weight", "weight and decay steps must be >= 0")
        if not self.prenet_units or any(u <= 0 for u in self.prenet_units):
            self._fail(prefix, "prenet_units", "must be a non-empty list of positive sizes")


@dataclasses.dataclass(frozen=True)
class VocoderModelConfig(Config):
    """WaveNet (arXiv 1609.03499) with local mel conditioning; fast generation (arXiv 1611.09482)."""

    # Read only when generating: a training run resumes after any of them changes.
    GENERATION_FIELDS = ("temperature", "tail_silence_db", "fold_segment_frames", "fold_overlap_frames",
                         "generation_loops", "xla")

    layers: int = 24
    dilation_cycle: int = 12  # dilations 1, 2, ..., 2**(cycle-1), repeated
    kernel_size: int = 2
    residual_channels: int = 64
    gate_channels: int = 64  # each of the tanh and sigmoid halves; configs/vocoder/wide.yaml: 128
    skip_channels: int = 256
    # Output distribution: 256-way mu-law softmax, discretized mixture of logistics, or a single Laplace
    # (its negative log-likelihood is the L1 loss the seed trained with) or Gaussian over the sample.
    output: Literal["mulaw", "mol", "laplace", "gaussian"] = "mulaw"
    mulaw_channels: int = 256
    mixture_components: int = 10
    upsample: Literal["transposed", "repeat"] = "transposed"
    speaker_conditioning: bool = False  # global conditioning on the utterance's speaker embedding
    speaker_embedding_dim: int = 256
    ema_decay: float = 0.0  # 0 disables; else training keeps an EMA of the weights and export uses it
    temperature: float = 1.0  # sampling temperature at generation (export, summaries)
    tail_silence_db: float = 60.0  # fade to silence after the last frame within this of the loudest; 0: off
    fold_segment_frames: int = 25  # folded generation: segment length in mel frames (benchmarks/vocoder_speed.py)
    fold_overlap_frames: int = 2  # cross-fade (25 ms at hop 200)
    generation_loops: int = 2  # folded generation: concurrent loops the segments are shared among (~cores)
    xla: bool = True  # compile the generation loop with XLA (TF Serving: --xla_cpu_compilation_enabled)

    def _check(self, prefix: str) -> None:
        self._require_positive(prefix, "layers", "dilation_cycle", "kernel_size", "residual_channels",
                               "gate_channels", "skip_channels", "mulaw_channels", "mixture_components",
                               "fold_segment_frames", "generation_loops", "speaker_embedding_dim", "temperature")
        if self.tail_silence_db < 0:
            self._fail(prefix, "tail_silence_db", "must be >= 0 (0 disables)")
        if self.mulaw_channels & (self.mulaw_channels - 1):
            self._fail(prefix, "mulaw_channels", "must be a power of two")
        if not 0.0 <= self.ema_decay < 1.0:
            self._fail(prefix, "ema_decay", "must be in [0, 1)")
        if not 0 <= self.fold_overlap_frames < self.fold_segment_frames:
            self._fail(prefix, "fold_overlap_frames", "must be in [0, fold_segment_frames)")


@dataclasses.dataclass(frozen=True)
class SpeakerEncoderConfig(Config):
    retired_keys = ("pretrained",)  # never read: tfclone-train --init_weights starts from given weights
    audio: AudioConfig = dataclasses.field(default_factory=encoder_audio)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: SpeakerEncoderModelConfig = dataclasses.field(default_factory=SpeakerEncoderModelConfig)
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(batch_size=640, learning_rate=1e-4, clip_norm=3.0))


@dataclasses.dataclass(frozen=True)
class SynthesizerConfig(Config):
    audio: AudioConfig = dataclasses.field(default_factory=synthesis_audio)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: SynthesizerModelConfig = dataclasses.field(default_factory=SynthesizerModelConfig)
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(lr_schedule="warmup_exponential", warmup_steps=1000))


@dataclasses.dataclass(frozen=True)
class VocoderConfig(Config):
    audio: AudioConfig = dataclasses.field(default_factory=synthesis_audio)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: VocoderModelConfig = dataclasses.field(default_factory=VocoderModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(batch_size=16))


@dataclasses.dataclass(frozen=True)
class HifiganModelConfig(Config):
    """HiFi-GAN V1's generator (arXiv 2010.05646); the pretrained universal weights are imported, not trained."""

    upsample_rates: Tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: Tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: Tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: Tuple[Tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    # jit_compile the exported generator. Off: XLA is no faster here (benchmarks/vocoder_speed.py: plain 1.10x,
    # XLA 1.06x real time, both at the matmul bound) and compiles once per 32-frame length range (~2-6 s).
    xla: bool = False
    # The generator's arithmetic: "float32", or "bfloat16" (convolutions in bfloat16, weights kept float32,
    # conv_post and tanh in float32). On a CPU with native bfloat16 (avx512_bf16 / AMX) it is ~2x faster at
    # no measurable cost (README, HiFi-GAN section: PESQ-wb within 0.01 on the ARCTIC clips); elsewhere it is
    # emulated and slower. tfclone-assemble picks it by the CPU it runs on (tfclone.export.shipped).
    compute_dtype: str = "float32"

    def receptive_frames(self) -> float:
        """How far, in mel frames either side, an output sample's dependence on the mel can reach (an upper
        bound): conv_pre (kernel 7), per stage the transposed conv (+-ceil(k / u) input samples) and the widest
        ResBlock1 (sum over its dilations d of (k - 1) / 2 * (d + 1) samples at the stage's rate), conv_post
        (kernel 7). Mel frames farther away than this cannot change a sample: a mel vocoded in pieces, each
        with this much context either side, equals the whole (Cloner.stream; tests/models/test_hifigan.py).
        V1: 14.4 frames."""
        reach, rate = 3.0, 1
        for u, k in zip(self.upsample_rates, self.upsample_kernel_sizes):
            reach += -(-k // u) / rate
            rate *= u
            reach += max((rk - 1) / 2 * sum(d + 1 for d in rd)
                         for rk, rd in zip(self.resblock_kernel_sizes, self.resblock_dilation_sizes)) / rate
        return reach + 3.0 / rate

    def _check(self, prefix: str) -> None:
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            self._fail(prefix, "upsample_kernel_sizes", "needs one kernel size per upsample rate")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            self._fail(prefix, "resblock_dilation_sizes", "needs one dilation list per resblock kernel size")
        if self.compute_dtype not in ("float32", "bfloat16"):
            self._fail(prefix, "compute_dtype", "must be float32 or bfloat16")


@dataclasses.dataclass(frozen=True)
class HifiganConfig(Config):
    audio: AudioConfig = dataclasses.field(default_factory=hifigan_audio)
    model: HifiganModelConfig = dataclasses.field(default_factory=HifiganModelConfig)
