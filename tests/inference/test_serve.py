"""tfclone-serve: without tensorflow_model_server it writes the configs, says how to run the server and
exits 3; with the server on PATH (not installable on our build machines) the runner talks to it over REST
and gRPC and gets what the local SavedModels give."""

import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from google.protobuf import text_format

from tfclone.inference import Cloner


def test_without_the_server_binary_prints_how_to_run_it(exported, tmp_path, repo_root):
    served = tmp_path / "exported"
    shutil.copytree(exported, served)
    for name in ("models.config", "batching_parameters.txt"):
        (served / name).unlink()
    result = subprocess.run([sys.executable, "-m", "tools.serve", f"--export_dir={served}",
                             "--binary=tensorflow_model_server_not_here"], capture_output=True, text=True,
                            cwd=repo_root, timeout=300)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "docker run" in result.stderr and "tensorflow/serving" in result.stderr
    assert "tensorflow-serving-apt" in result.stderr and "--model_config_file=/models/models.docker.config" \
        in result.stderr
    from tensorflow_serving.config import model_server_config_pb2

    docker = text_format.Parse((served / "models.docker.config").read_text(),
                               model_server_config_pb2.ModelServerConfig())
    assert {c.base_path for c in docker.model_config_list.config} >= {"/models/voice_clone", "/models/synthesizer"}
    local = text_format.Parse((served / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    assert all(c.base_path.startswith(str(served)) for c in local.model_config_list.config)


@pytest.mark.skipif(shutil.which("tensorflow_model_server") is None,
                    reason="tensorflow_model_server is not installed (not on PyPI; Docker image or Google's apt "
                           "repository only, neither reachable from the build machines)")
def test_clone_through_the_real_server(exported, reference_wav, tmp_path, repo_root):
    proc = subprocess.Popen([sys.executable, "-m", "tools.serve", f"--export_dir={exported}", "--grpc_port=8610",
                             "--rest_port=8611"], cwd=repo_root)
    try:
        local = Cloner(str(exported)).clone(str(reference_wav), "Hello there. Good bye.")
        for protocol, port in (("grpc", 8610), ("rest", 8611)):
            for _ in range(120):
                try:
                    remote = Cloner(str(exported), server=f"localhost:{port}", protocol=protocol)
                    wav = remote.clone(str(reference_wav), "Hello there. Good bye.")
                    break
                except Exception:  # noqa: BLE001 - the server is still loading
                    time.sleep(1)
            else:
                raise AssertionError(f"server never answered over {protocol}")
            np.testing.assert_allclose(wav, local, atol=1e-4)
    finally:
        proc.terminate()
        proc.wait(30)

