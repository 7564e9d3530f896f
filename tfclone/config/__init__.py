"""Typed configs: defaults in code, YAML overrides, `--params_override`, validation (see base.py)."""
from tfclone.config.audio import AudioConfig, encoder_audio, hifigan_audio, synthesis_audio
from tfclone.config.base import Config, ConfigError, load_config, parse_params_override
from tfclone.config.experiments import (DataConfig, HifiganConfig, HifiganModelConfig,
                                        SpeakerEncoderConfig,
                                        SpeakerEncoderModelConfig, SynthesizerConfig,
                                        SynthesizerModelConfig, TrainConfig, VocoderConfig,
                                        VocoderModelConfig)
from tfclone.config.registry import MODELS, ModelSpec, model_spec


def experiment_config(model: str, config_files=(), params_override: str = ""):
    """The resolved, validated config of a registered model (`speaker_encoder`, ...; see registry.py)."""
    return load_config(model_spec(model).config, config_files, params_override)
