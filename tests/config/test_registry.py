"""The model registry is the one table the tools, serving and the runner read; the export layout and the
runner's REST path work without TensorFlow."""
import dataclasses
import inspect
import json
import os
import subprocess
import sys

import pytest

from tfclone.config import ConfigError, experiment_config
from tfclone.config.registry import MODELS, TRAINABLE, VOCODERS, _resolve, model_spec
from tfclone.text.symbols import SymbolTable


def test_every_task_and_exporter_named_in_the_table_resolves_with_the_exporter_signature():
    for spec in MODELS.values():
        assert isinstance(experiment_config(spec.name), spec.config)
        if spec.task:
            assert inspect.isclass(_resolve(spec.task)), spec.task
        if spec.exporter:
            params = list(inspect.signature(_resolve(spec.exporter)).parameters)
            assert params[:5] == ["config", "model_dir", "export_base", "checkpoint", "version"], (spec.name, params)
            assert set(spec.export_options) <= set(params[5:]), (spec.name, spec.export_options)
    assert TRAINABLE == ("speaker_encoder", "synthesizer", "vocoder")
    assert VOCODERS == ("hifigan", "vocoder", "griffin_lim")  # preference order of the runner's default


def test_unknown_or_untrained_models_are_refused_by_name():
    with pytest.raises(ConfigError, match="unknown model 'wavernn'"):
        model_spec("wavernn")
    with pytest.raises(ConfigError, match="hifigan is not trained by tfclone-train"):
        model_spec("hifigan").build_task(experiment_config("hifigan"))
    with pytest.raises(ConfigError, match="griffin_lim is not exported from a model_dir"):
        model_spec("griffin_lim").export(experiment_config("griffin_lim"), "d", "e")


def _fake_export(base, name, config, symbols=False):
    """The layout only: a placeholder saved_model.pb, the config asset, the vocabulary."""
    version = base / name / "3"
    (version / "assets").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    config.save(str(version / "assets" / "config.yaml"))
    if symbols:
        SymbolTable().save(str(version / "assets" / "symbols.txt"))
    (base / name / "7").mkdir()  # an incomplete version (no saved_model.pb) is never chosen


def test_a_rest_client_reads_the_export_layout_and_never_imports_tensorflow(tmp_path):
    synthesizer = experiment_config("synthesizer", params_override="audio.sample_rate=22050")
    for name, config in (("speaker_encoder", experiment_config("speaker_encoder")), ("synthesizer", synthesizer),
                         ("hifigan", experiment_config("hifigan")),
                         ("griffin_lim", dataclasses.replace(experiment_config("griffin_lim"), audio=synthesizer.audio))):
        _fake_export(tmp_path, name, config, symbols=name == "synthesizer")
    script = f"""
import json, sys
from tfclone.export.layout import exported_models, latest_version
from tfclone.inference import Cloner
from tfclone.serving.config import models_config_text
cloner = Cloner({str(tmp_path)!r}, server="127.0.0.1:1", protocol="rest")
models = exported_models({str(tmp_path)!r})
print(json.dumps({{"vocoder": cloner.vocoder, "vocoders": cloner.vocoders(), "models": sorted(models),
                  "latest": latest_version({str(tmp_path)!r}, "synthesizer"), "rate": cloner.sample_rate,
                  "config": len(models_config_text(models)), "tf": "tensorflow" in sys.modules}}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # The synthesizer's preset differs from HiFi-GAN's (22050 Hz with 16 kHz mel settings): Griffin-Lim is chosen.
    assert out == {"vocoder": "griffin_lim", "vocoders": ["griffin_lim"],
                   "models": ["griffin_lim", "hifigan", "speaker_encoder", "synthesizer"],
                   "latest": os.path.join(str(tmp_path), "synthesizer", "3"), "rate": 22050,
                   "config": out["config"], "tf": False}
    assert out["config"] > 0
