"""One tfclone-studio process on the tiny exported models, shared by the API, fuzz and browser tests."""
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port


class Studio:
    def __init__(self, url: str, data_dir, process):
        self.url, self.data_dir, self.process = url, data_dir, process

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120.0, **kwargs)


@pytest.fixture(scope="session")
def studio(exported, tmp_path_factory, repo_root):
    data_dir = tmp_path_factory.mktemp("studio")
    port = free_port()
    log = open(data_dir / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "tools.studio", f"--models={exported}", f"--port={port}",
                                f"--data_dir={data_dir}", "--max_requests=2", "--batch=4"],
                               cwd=repo_root, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise AssertionError(f"tfclone-studio did not start:\n{(data_dir / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield Studio(url, data_dir, process)
    process.terminate()
    process.wait(timeout=30)
    log.close()
