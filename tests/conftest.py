"""Test set-up: CPU only, quiet TF logs. Tests make all their data themselves."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pathlib

import pytest


@pytest.fixture(scope="session")
def repo_root():
    return pathlib.Path(__file__).resolve().parent.parent
