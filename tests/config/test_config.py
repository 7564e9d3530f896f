import dataclasses

import pytest
import yaml

from tfclone.config import (ConfigError, SpeakerEncoderConfig, SynthesizerConfig, VocoderConfig,
                            encoder_audio, experiment_config, parse_params_override, synthesis_audio)

CONFIGS = ["configs/speaker_encoder/base.yaml", "configs/speaker_encoder/tiny.yaml",
           "configs/speaker_encoder/resemblyzer.yaml", "configs/synthesizer/base.yaml",
           "configs/synthesizer/tiny.yaml", "configs/vocoder/base.yaml", "configs/vocoder/tiny.yaml",
           "configs/vocoder/wide.yaml"]


def test_presets_match_design():
    enc, syn = encoder_audio(), synthesis_audio()
    assert (enc.sample_rate, enc.win_length, enc.hop_length, enc.n_mels, enc.fmin, enc.fmax) == (
        16000, 400, 160, 40, 0.0, 8000.0)
    assert (enc.power, enc.mel_scale) == (2.0, "linear")
    assert (syn.sample_rate, syn.win_length, syn.hop_length, syn.n_mels, syn.fmin, syn.fmax) == (
        16000, 800, 200, 80, 55.0, 7600.0)
    assert syn.mel_scale == "log" and syn.log_floor == 1e-5
    assert synthesis_audio(22050).hop_length == 276 and synthesis_audio(24000).win_length == 1200
    # The experiments use the presets, not copies of them.
    assert SpeakerEncoderConfig().audio == enc and SynthesizerConfig().audio == syn == VocoderConfig().audio


@pytest.mark.parametrize("path", CONFIGS)
def test_shipped_yaml_files_resolve_and_round_trip(path, repo_root):
    model = path.split("/")[1]
    config = experiment_config(model, [str(repo_root / path)])
    again = type(config).from_yaml(config.to_yaml())
    assert again == config


def test_yaml_then_params_override_order(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model: {lstm_units: 32}\ntrain: {learning_rate: 0.01}\n")
    config = experiment_config("speaker_encoder", [str(f)], "train.learning_rate=0.5,model.loss=contrast")
    assert config.model.lstm_units == 32  # from YAML
    assert config.train.learning_rate == 0.5  # override wins over YAML
    assert config.model.loss == "contrast"
    assert config.model.lstm_layers == 3  # default kept


def test_params_override_parsing():
    assert parse_params_override("a.b=1,c=[1, 2],d.e=x,f=true") == {
        "a": {"b": 1}, "c": [1, 2], "d": {"e": "x"}, "f": True}
    with pytest.raises(ConfigError, match="key=value"):
        parse_params_override("a.b")


@pytest.mark.parametrize("override,key", [
    ("model.lstm_unitz=3", "model.lstm_unitz: unknown key"),
    ("modle.lstm_units=3", "modle: unknown key"),
    ("model.lstm_units=abc", "model.lstm_units: expected an integer"),
    ("model.lstm_units=1.5", "model.lstm_units: expected an integer"),
    ("train.mixed_precision=1", "train.mixed_precision: expected true/false"),
    ("model.loss=triplet", "model.loss: must be one of"),
    ("audio.hop_length=-160", "audio.hop_length: must be > 0"),
    ("audio.win_length=1024", "audio.win_length: must be <= n_fft"),
    ("audio.fmax=9000", "audio.fmax: must be <= the Nyquist"),
    ("audio.n_mels=0", "audio.n_mels: must be > 0"),
    ("model.min_coverage=1.5", "model.min_coverage: must be in"),
    ("data.utterances_per_speaker=1", "data.utterances_per_speaker: GE2E needs"),
    ("data.bucket_boundaries=[5, 3]", "data.bucket_boundaries: must be positive and strictly increasing"),
])
def test_bad_values_name_the_key(override, key):
    with pytest.raises(ConfigError) as e:
        experiment_config("speaker_encoder", [], override)
    assert key in str(e.value)


def test_unknown_key_in_yaml_names_file_and_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("train:\n  learnin_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: train.learnin_rate: unknown key"):
        experiment_config("vocoder", [str(f)])
    with pytest.raises(ConfigError, match="does not exist"):
        experiment_config("vocoder", [str(tmp_path / "missing.yaml")])
    with pytest.raises(ConfigError, match="unknown model"):
        experiment_config("wavernn")


def test_configs_are_frozen_and_save_atomically(tmp_path):
    config = SynthesizerConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.batch_size = 3
    path = tmp_path / "model_dir" / "config.yaml"
    config.save(str(path))
    assert yaml.safe_load(path.read_text())["model"]["reduction_factor"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["config.yaml"]  # no temporary file left
    assert SynthesizerConfig.from_yaml(path.read_text()) == config


def test_exponent_floats_without_a_dot(tmp_path):
    config = experiment_config("vocoder", [], "train.learning_rate=1e-3,train.min_learning_rate=5E-6")
    assert config.train.learning_rate == 1e-3 and config.train.min_learning_rate == 5e-6
    f = tmp_path / "c.yaml"
    f.write_text("train: {learning_rate: 2e-4}\n")
    assert experiment_config("vocoder", [str(f)]).train.learning_rate == 2e-4


def test_tuple_fields_and_floats_accept_yaml_types():
    config = SynthesizerConfig().override_params("model.prenet_units=[64, 32],train.learning_rate=1")
    assert config.model.prenet_units == (64, 32)
    assert isinstance(config.train.learning_rate, float)


def test_retired_keys_of_older_exports_are_ignored_and_unknown_keys_still_fail(tmp_path):
    old = tmp_path / "old.yaml"
    old.write_text("audio:\n  trim_top_db: 0.0\n  sample_rate: 22050\ndata:\n  data_dir: shards\n")
    config = experiment_config("synthesizer", [str(old)])
    assert config.audio.sample_rate == 22050 and not hasattr(config.audio, "trim_top_db")
    typo = tmp_path / "typo.yaml"
    typo.write_text("audio:\n  trim_top_dbb: 0.0\n")
    with pytest.raises(ConfigError, match="audio.trim_top_dbb: unknown key"):
        experiment_config("synthesizer", [str(typo)])
