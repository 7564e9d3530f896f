"""Everything a server or the runner needs, from trained model_dirs: the three models, Griffin-Lim, the
end-to-end voice_clone model, and the TF Serving config files (used by tfclone-export --model all and
the quick start)."""
from __future__ import annotations

import os
from typing import Dict, Optional

from tfclone.export.layout import ExportError


def model_dir_config(model: str, model_dir: str):
    """The resolved config a training run saved in its model_dir."""
    from tfclone.config import experiment_config

    config_file = os.path.join(model_dir, "config.yaml")
    if not os.path.isfile(config_file):
        raise ExportError(f"{model_dir}: no config.yaml; not a tfclone {model} model_dir")
    return experiment_config(model, [config_file])


def export_all(export_dir: str, speaker_encoder_dir: str, synthesizer_dir: str, vocoder_dir: Optional[str] = None,
               *, prenet_dropout: bool = True, folded: bool = True, seed: int = 0, griffin_lim_iterations: int = 32,
               voice_clone_vocoder: Optional[str] = None, batching=None,
               already_exported: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Returns {model name: exported path, "models_config": ..., "batching_parameters": ...}.
    `already_exported`: {model name: its SavedModel under export_dir}, used as is (not exported again)."""
    from tfclone.export.speaker_encoder import export_speaker_encoder
    from tfclone.export.synthesizer import export_synthesizer
    from tfclone.export.vocoder import export_griffin_lim, export_vocoder
    from tfclone.export.voice_clone import export_voice_clone, griffin_lim_config
    from tfclone.serving.config import Batching, write_serving_configs

    synthesizer = model_dir_config("synthesizer", synthesizer_dir)
    paths = dict(already_exported or {})
    if "speaker_encoder" not in paths:
        paths["speaker_encoder"] = export_speaker_encoder(model_dir_config("speaker_encoder", speaker_encoder_dir),
                                                          speaker_encoder_dir, export_dir)
    paths["synthesizer"] = export_synthesizer(synthesizer, synthesizer_dir, export_dir, prenet_dropout=prenet_dropout)
    if vocoder_dir:
        paths["vocoder"] = export_vocoder(model_dir_config("vocoder", vocoder_dir), vocoder_dir, export_dir,
                                          folded=folded, seed=seed)
    paths["griffin_lim"] = export_griffin_lim(griffin_lim_config(synthesizer), export_dir,
                                              iterations=griffin_lim_iterations)
    vocoder = voice_clone_vocoder or ("vocoder" if vocoder_dir else "griffin_lim")
    paths["voice_clone"] = export_voice_clone(export_dir, vocoder, sources={
        k: v for k, v in paths.items() if k in ("speaker_encoder", "synthesizer", vocoder)})
    paths.update(write_serving_configs(export_dir, batching or Batching()))
    return paths
