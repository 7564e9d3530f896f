"""The one table of the models tfclone knows: name -> config class, training task, exporter, role.

Adding a model (a second vocoder family, say) is one `ModelSpec` line here; tfclone-train, tfclone-export,
the serving config, the runner and the studio read this table. Tasks and exporters are named as
"module:attribute" and imported when used, so reading the table never imports TensorFlow (the REST
client and the serving-config writer stay TF-free) and config stays the bottom layer.
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Dict, Optional, Tuple, Type

from tfclone.config.base import Config, ConfigError
from tfclone.config.experiments import HifiganConfig, SpeakerEncoderConfig, SynthesizerConfig, VocoderConfig


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    name: str
    config: Type[Config]  # the experiment config its config.yaml (training run or export asset) holds
    task: Optional[str] = None  # "module:Class" that tfclone-train trains; None: not trained by tfclone
    exporter: Optional[str] = None  # "module:function"(config, model_dir, export_base, checkpoint, version, **opts)
    export_options: Tuple[str, ...] = ()  # tfclone-export flags passed to the exporter as keywords
    vocoder: bool = False  # takes a mel, returns audio (serving_default mel, mel_length -> audio, audio_length)
    about: str = ""

    def build_task(self, config):
        if self.task is None:
            raise ConfigError(f"model: {self.name} is not trained by tfclone-train (trainable: {', '.join(TRAINABLE)})")
        return _resolve(self.task)(config)

    def export(self, config, model_dir: str, export_base: str, checkpoint: Optional[str] = None,
               version: Optional[int] = None, **options) -> str:
        if self.exporter is None:
            raise ConfigError(f"model: {self.name} is not exported from a model_dir")
        return _resolve(self.exporter)(config, model_dir, export_base, checkpoint, version, **options)


def _resolve(dotted: str):
    module, _, attribute = dotted.partition(":")
    return getattr(importlib.import_module(module), attribute)


# Vocoders in order of preference (the runner's default is the first one exported with a matching preset).
MODELS: Dict[str, ModelSpec] = {spec.name: spec for spec in (
    ModelSpec("speaker_encoder", SpeakerEncoderConfig, "tfclone.tasks.speaker_encoder:SpeakerEncoderTask",
              "tfclone.export.speaker_encoder:export_speaker_encoder", about="GE2E speaker encoder"),
    ModelSpec("synthesizer", SynthesizerConfig, "tfclone.tasks.synthesizer:SynthesizerTask",
              "tfclone.export.synthesizer:export_synthesizer", ("prenet_dropout",),
              about="Tacotron 2 conditioned on a speaker embedding"),
    ModelSpec("hifigan", HifiganConfig, None, "tfclone.export.vocoder:export_hifigan", vocoder=True,
              about="pretrained HiFi-GAN V1 (imported by tfclone-import-hifigan, not trained here)"),
    ModelSpec("vocoder", VocoderConfig, "tfclone.tasks.vocoder:VocoderTask", "tfclone.export.vocoder:export_vocoder",
              ("folded", "seed"), vocoder=True, about="WaveNet"),
    ModelSpec("griffin_lim", VocoderConfig, vocoder=True,
              about="Griffin-Lim, no weights (exported from a config's audio preset)"),
    ModelSpec("voice_clone", SynthesizerConfig,
              about="the three exports composed into one SavedModel (its config.yaml is the synthesizer's)"),
)}

TRAINABLE = tuple(name for name, spec in MODELS.items() if spec.task)
VOCODERS = tuple(name for name, spec in MODELS.items() if spec.vocoder)


def model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ConfigError(f"model: unknown model {name!r} (known: {', '.join(MODELS)})")
    return MODELS[name]
