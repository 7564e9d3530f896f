"""Typed configs: defaults in code, YAML overrides, `--params_override`, validation (see base.py)."""
from tfclone.config.audio import AudioConfig, encoder_audio, hifigan_audio, synthesis_audio
from tfclone.config.base import Config, ConfigError, load_config, parse_params_override
from tfclone.config.experiments import (EXPERIMENTS, DataConfig, HifiganConfig, HifiganModelConfig,
                                        SpeakerEncoderConfig,
                                        SpeakerEncoderModelConfig, SynthesizerConfig,
                                        SynthesizerModelConfig, TrainConfig, VocoderConfig,
                                        VocoderModelConfig)


def experiment_config(model: str, config_files=(), params_override: str = ""):
    """The resolved, validated config of one of the three models (`speaker_encoder`, ...)."""
    if model not in EXPERIMENTS:
        raise ConfigError(f"model: unknown model {model!r} (known: {', '.join(EXPERIMENTS)})")
    return load_config(EXPERIMENTS[model], config_files, params_override)
