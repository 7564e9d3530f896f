"""The exported/ folder's layout, read without TensorFlow (by export, serving, the runner and the studio):

    <export_base>/<model>/<version>/saved_model.pb    numbered versions; the highest complete one is served
    <export_base>/<model>/<version>/assets/config.yaml the resolved config of the exported model
    <export_base>/<model>/LATEST                       the version last written

Model names and their config classes come from tfclone.config.registry.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

from tfclone.config.registry import MODELS, VOCODERS

COMPARED_AUDIO_FIELDS = ("sample_rate", "n_fft", "win_length", "hop_length", "n_mels", "fmin", "fmax", "power",
                         "mel_scale", "log_floor", "preemphasis", "padding")


class ExportError(RuntimeError):
    """The model_dir, checkpoint or export cannot be used (missing, incomplete, incompatible)."""


def versions(export_base: str, name: str) -> List[int]:
    """The complete versions (holding saved_model.pb) of <export_base>/<name>, ascending."""
    folder = os.path.join(export_base, name)
    if not os.path.isdir(folder):
        return []
    return sorted(int(d) for d in os.listdir(folder)
                  if d.isdigit() and os.path.isfile(os.path.join(folder, d, "saved_model.pb")))


def next_version(base_dir: str) -> int:
    """One above the highest numbered folder in base_dir (complete or not, so nothing is overwritten)."""
    numbers = [int(d) for d in os.listdir(base_dir) if d.isdigit()] if os.path.isdir(base_dir) else []
    return max(numbers, default=0) + 1


def latest_version(export_base: str, name: str) -> str:
    """<export_base>/<name>/<highest complete version>; ExportError naming what is missing."""
    found = versions(export_base, name)
    folder = os.path.join(export_base, name)
    if not found:
        raise ExportError(f"{folder}: no exported {name} (expected {folder}/<version>/saved_model.pb)")
    return os.path.join(folder, str(found[-1]))


def exported_models(export_base: str) -> Dict[str, str]:
    """{model name: its folder} for every registered model with a complete version under export_base."""
    return {name: os.path.join(export_base, name) for name in MODELS if versions(export_base, name)}


def read_config(saved_model_dir: str, model: str):
    """The resolved config an export carries (assets/config.yaml), as the registered config class of `model`."""
    from tfclone.config import experiment_config

    path = os.path.join(saved_model_dir, "assets", "config.yaml")
    if not os.path.isfile(path):
        raise ExportError(f"{saved_model_dir}: no assets/config.yaml; not a tfclone export")
    return experiment_config(model, [path])


def audio_mismatch(a, b) -> Optional[str]:
    """None if two audio presets agree on everything a mel depends on, else the first difference."""
    for name in COMPARED_AUDIO_FIELDS:
        if hasattr(a, name) and getattr(a, name) != getattr(b, name):
            return f"{name} {getattr(a, name)} vs {getattr(b, name)}"
    return None


def default_vocoder(export_base: str, synthesizer_audio=None) -> str:
    """The best vocoder exported under export_base: the first of VOCODERS present, except that the
    pretrained HiFi-GAN is passed over when its (fixed) audio preset differs from the synthesizer's
    (`synthesizer_audio`, when given). A WaveNet is trained for its synthesizer: a mismatched one is chosen
    and refused by the runner, naming the difference. "griffin_lim" if nothing else is exported."""
    for name in VOCODERS:
        try:
            path = latest_version(export_base, name)
        except ExportError:
            continue
        if synthesizer_audio is None or name != "hifigan":
            return name
        try:
            if audio_mismatch(synthesizer_audio, read_config(path, name).audio) is None:
                return name
        except Exception:  # pylint: disable=broad-except  # an unreadable export is not a candidate
            continue
    return "griffin_lim"
