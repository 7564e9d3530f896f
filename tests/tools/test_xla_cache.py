"""The inference tools' persistent XLA compilation cache: where it goes, that a user's own TF_XLA_FLAGS win,
and that it can be turned off. (That tfclone-clone really writes compiled programs there is checked on the
shipped models in tests/export/test_shipped.py.)"""
import os

from tfclone import cli


def test_default_folder_is_per_tensorflow_version_under_the_xdg_cache(monkeypatch, tmp_path):
    from importlib import metadata

    monkeypatch.delenv("TFCLONE_XLA_CACHE", raising=False)
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = cli.use_xla_cache()
    assert folder == str(tmp_path / "tfclone" / "xla" / f"tf-{metadata.version('tensorflow')}")
    assert os.path.isdir(folder)
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_persistent_cache_directory={folder}"


def test_users_flags_are_kept_and_their_cache_folder_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("TFCLONE_XLA_CACHE", str(tmp_path / "ours"))
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=2")
    assert cli.use_xla_cache() == str(tmp_path / "ours")
    assert os.environ["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=2 --tf_xla_persistent_cache_directory={tmp_path / 'ours'}"
    monkeypatch.setenv("TF_XLA_FLAGS", f"--tf_xla_persistent_cache_directory={tmp_path / 'theirs'} --x=1")
    assert cli.use_xla_cache() == str(tmp_path / "theirs")
    assert not (tmp_path / "ours").exists() or os.listdir(tmp_path / "ours") == []


def test_empty_setting_turns_it_off(monkeypatch):
    monkeypatch.setenv("TFCLONE_XLA_CACHE", "")
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    assert cli.use_xla_cache() == ""
    assert "TF_XLA_FLAGS" not in os.environ
