"""The studio under load: N clients, M speech requests each, on 127.0.0.1.

Starts `tfclone-studio` on --models (or uses a running one with --url), adds the reference voice, then:
  alone        one client, M requests in a row: the baseline of this same run
  concurrent   N clients at once, M requests each
Each request streams (wav) a two-sentence text. Reported: requests/s, latency p50/p95 (request to last
byte), time to first audio p50/p95 (request to the first audio bytes), and requests refused with 503
(the queue's bound; a refused request is retried after its Retry-After and counted once).

    python benchmarks/studio_load.py --models exported --clients 4 --requests 5
    python benchmarks/studio_load.py --url http://127.0.0.1:8000 --clients 8 --requests 10
The last line, parsed by tools: `studio: <r> requests/s with <n> clients (alone <a>), p95 latency <l> s,
p95 first audio <f> s, refused <k>`.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("models", "exported", "Exported models for the studio this benchmark starts.")
flags.DEFINE_string("url", None, "A running studio instead (then --models is not used).")
flags.DEFINE_string("reference", "examples/arctic_slt_a0009.wav", "The voice.")
flags.DEFINE_string("vocoder", None, "Vocoder for every request (default: the studio's).")
flags.DEFINE_integer("clients", 4, "Concurrent clients.")
flags.DEFINE_integer("requests", 5, "Requests per client.")
flags.DEFINE_integer("max_requests", 16, "The started studio's queue bound (--max_requests).")

TEXT = "The quick brown fox jumps over the lazy dog. Then it rests in the shade."


def start_studio(models: str, data_dir: str, max_requests: int):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "tools.studio", f"--models={models}", f"--port={port}",
                                f"--data_dir={data_dir}", f"--max_requests={max_requests}"],
                               cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return url, process
        except httpx.TransportError:
            time.sleep(0.5)
        if process.poll() is not None:
            break
    process.kill()
    raise SystemExit("studio_load: the studio did not start")


def one_request(client: httpx.Client, body: dict):
    """(latency, first audio, refusals) of one streamed request, retried after 503s."""
    refused = 0
    while True:
        began, first = time.perf_counter(), None
        with client.stream("POST", "/v1/audio/speech", json=body) as response:
            if response.status_code == 503:
                refused += 1
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            if response.status_code != 200:
                raise SystemExit(f"studio_load: HTTP {response.status_code}: {response.read()[:300]!r}")
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if first is None and size > 44:
                    first = time.perf_counter() - began
        return time.perf_counter() - began, first, refused


def run_clients(url: str, clients: int, requests: int, body: dict):
    results, lock = [], threading.Lock()

    def client_loop():
        with httpx.Client(base_url=url, timeout=600) as client:
            for _ in range(requests):
                result = one_request(client, body)
                with lock:
                    results.append(result)

    began = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latency = np.array([r[0] for r in results])
    first = np.array([r[1] for r in results])
    return {"rps": len(results) / wall, "p50": np.percentile(latency, 50), "p95": np.percentile(latency, 95),
            "first50": np.percentile(first, 50), "first95": np.percentile(first, 95),
            "refused": sum(r[2] for r in results)}


def main(argv):
    del argv
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    process = None
    with tempfile.TemporaryDirectory() as data_dir:
        url = FLAGS.url
        if url is None:
            url, process = start_studio(FLAGS.models, data_dir, FLAGS.max_requests)
        try:
            with httpx.Client(base_url=url, timeout=600) as client:
                with open(FLAGS.reference, "rb") as f:
                    name = f"load-{os.getpid()}"
                    added = client.post("/v1/voices", files={"file": (os.path.basename(FLAGS.reference), f.read())},
                                        data={"name": name})
                if added.status_code != 201:
                    raise SystemExit(f"studio_load: adding the voice failed: {added.text}")
                voice = added.json()["id"]
                body = {"model": "tfclone", "input": TEXT, "voice": voice, "response_format": "wav", "stream": True}
                if FLAGS.vocoder:
                    body["vocoder"] = FLAGS.vocoder
                one_request(client, body)  # warm-up: tracing and loading happen here, not in the figures
                alone = run_clients(url, 1, FLAGS.requests, body)
                together = run_clients(url, FLAGS.clients, FLAGS.requests, body)
                client.delete(f"/v1/voices/{voice}")
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=30)
    print(f"{'case':<28}{'req/s':>8}{'p50 s':>8}{'p95 s':>8}{'1st p50':>9}{'1st p95':>9}{'503s':>6}")
    for label, r in (("alone (1 client)", alone), (f"concurrent ({FLAGS.clients} clients)", together)):
        print(f"{label:<28}{r['rps']:>8.2f}{r['p50']:>8.2f}{r['p95']:>8.2f}{r['first50']:>9.2f}{r['first95']:>9.2f}"
              f"{r['refused']:>6d}")
    print(f"studio: {together['rps']:.2f} requests/s with {FLAGS.clients} clients (alone {alone['rps']:.2f}), "
          f"p95 latency {together['p95']:.2f} s, p95 first audio {together['first95']:.2f} s, "
          f"refused {together['refused']}")


if __name__ == "__main__":
    app.run(main)
