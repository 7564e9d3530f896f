"""The studio's API against a running tfclone-studio (httpx): the voice life cycle in a real SQLite file,
speech in every format, streaming that delivers the first sentence before the last is synthesized, a
bounded queue (503 + Retry-After), an API key, and every bad input a 4xx in OpenAI's error shape with
nothing written to the library."""
import io
import threading
import time

import httpx
import numpy as np
import pytest
import soundfile as sf

from tfclone.audio.synthetic import speech_like
from tfclone.studio.library import VoiceLibrary

TEXT = "Hello there. How are you today? Fine, thanks."


def wav_bytes(wav, rate=16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, wav, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def add_voice(client, name, data=None, filename="clip.wav"):
    data = data if data is not None else wav_bytes(speech_like(2.5, 16000, seed=3))
    return client.post("/v1/voices", files={"file": (filename, data, "audio/wav")}, data={"name": name})


@pytest.fixture(scope="module")
def voice(studio):
    with studio.client() as client:
        response = add_voice(client, "alice")
        assert response.status_code == 201, response.text
        return response.json()


def test_voice_life_cycle_persists_in_sqlite(studio, reference_wav):
    with studio.client() as client:
        created = add_voice(client, "bob", reference_wav.read_bytes(), "voice.wav")
        assert created.status_code == 201, created.text
        bob = created.json()
        assert bob["name"] == "bob" and bob["id"].startswith("voice_") and 1.0 < bob["seconds"] <= 2.5
        assert bob["id"] in {v["id"] for v in client.get("/v1/voices").json()["data"]}
        assert client.get(f"/v1/voices/{bob['id']}").json() == bob == client.get("/v1/voices/bob").json()
        clip, rate = sf.read(io.BytesIO(client.get(f"/v1/voices/{bob['id']}/audio").content))
        assert rate == 16000 and abs(len(clip) / rate - bob["seconds"]) < 1e-3
        # The library is an SQLite file: another reader sees the voice and its unit-length embedding.
        stored = VoiceLibrary(str(studio.data_dir / "voices.sqlite")).find(bob["id"])
        assert stored.name == "bob" and stored.embedding.shape == (256,)
        assert abs(float(np.linalg.norm(stored.embedding)) - 1.0) < 1e-3
        mapped = {p["id"]: p for p in client.get("/v1/voices/map").json()["data"]}
        assert bob["id"] in mapped and all(np.isfinite([p["x"], p["y"]]).all() for p in mapped.values())
        assert client.delete(f"/v1/voices/{bob['id']}").json()["deleted"] is True
        assert client.get(f"/v1/voices/{bob['id']}").status_code == 404
        assert bob["id"] not in {v["id"] for v in client.get("/v1/voices").json()["data"]}


def test_speech_in_every_format_decodes_to_the_same_audio(studio, voice):
    with studio.client() as client:
        formats = client.get("/v1/models").json()["data"][0]["response_formats"]
        assert {"wav", "flac", "pcm"} <= set(formats)
        lengths = {}
        for fmt in formats:
            response = client.post("/v1/audio/speech", json={"model": "tts-1", "input": TEXT, "voice": voice["name"],
                                                              "response_format": fmt, "vocoder": "griffin_lim"})
            assert response.status_code == 200, response.text
            rate = int(response.headers["X-Sample-Rate"])
            assert response.headers["content-type"].startswith({"wav": "audio/wav", "flac": "audio/flac",
                                                                "mp3": "audio/mpeg", "pcm": "audio/pcm"}[fmt])
            if fmt == "pcm":
                audio = np.frombuffer(response.content, "<i2")
            else:
                audio, file_rate = sf.read(io.BytesIO(response.content))
                assert file_rate == rate
            lengths[fmt] = len(audio)
        # Three sentences joined by two 0.25 s pauses; Griffin-Lim is deterministic, so every format carries
        # the same samples (mp3 adds up to one frame of encoder delay).
        assert lengths["wav"] > 0.5 * rate
        assert lengths["flac"] == lengths["pcm"] == lengths["wav"]
        if "mp3" in lengths:
            assert abs(lengths["mp3"] - lengths["wav"]) <= 1152 * 2


def test_speed_stretches_the_audio(studio, voice):
    with studio.client() as client:
        def seconds(speed):
            response = client.post("/v1/audio/speech", json={"input": TEXT, "voice": voice["id"], "speed": speed,
                                                              "response_format": "wav", "vocoder": "griffin_lim"})
            assert response.status_code == 200, response.text
            audio, rate = sf.read(io.BytesIO(response.content))
            return len(audio) / rate
        normal, fast = seconds(1.0), seconds(2.0)
        assert 0.55 * normal < fast < 0.8 * normal  # the pauses are not stretched


def test_streaming_sends_the_first_sentence_before_the_last_is_synthesized(studio, voice):
    text = " ".join(f"Sentence number {n} is here." for n in range(1, 7))
    with studio.client() as client:
        with client.stream("POST", "/v1/audio/speech", json={"input": text, "voice": voice["id"], "stream": True,
                                                              "response_format": "wav"}) as response:
            assert response.status_code == 200
            sid, received, first_audio = response.headers["X-Tfclone-Synthesis"], b"", None
            for chunk in response.iter_bytes():
                received += chunk
                if first_audio is None and len(received) > 44:
                    first_audio = time.time()
        progress = client.get(f"/v1/syntheses/{sid}").json()
    assert progress["sentences"] == progress["done"] == 6
    assert first_audio < progress["finished_at"][-1], (first_audio, progress["finished_at"])
    assert received[:4] == b"RIFF" and received[8:12] == b"WAVE" and (len(received) - 44) % 2 == 0
    samples = np.frombuffer(received[44:], "<i2")
    assert len(samples) > 5 * 0.25 * 16000  # six sentences and five pauses
    with studio.client() as client:
        for picture in ("mel.png", "alignment.png"):
            png = client.get(f"/v1/syntheses/{sid}/{picture}")
            assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_full_queue_answers_503_with_retry_after(studio, voice):
    """The server runs with --max_requests=2: two long streams in progress, a third request is refused."""
    text = " ".join(f"This is sentence {n}." for n in range(24))
    started, results = threading.Barrier(3), []

    def stream():
        with studio.client() as client:
            with client.stream("POST", "/v1/audio/speech", json={"input": text, "voice": voice["id"], "stream": True,
                                                                  "response_format": "pcm",
                                                                  "vocoder": "griffin_lim"}) as response:
                chunks = response.iter_bytes()
                results.append(len(next(chunks)))
                started.wait(timeout=120)
                results.append(sum(len(c) for c in chunks))

    threads = [threading.Thread(target=stream) for _ in range(2)]
    for t in threads:
        t.start()
    started.wait(timeout=120)  # both streams have sent audio: two requests are in progress
    with studio.client() as client:
        refused = client.post("/v1/audio/speech", json={"input": "Hi there.", "voice": voice["id"]})
    for t in threads:
        t.join(timeout=300)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) > 0 and refused.json()["error"]["code"] == "busy"
    assert len(results) == 4 and all(n > 0 for n in results)
    with studio.client() as client:  # and once they are done, it serves again
        assert client.post("/v1/audio/speech", json={"input": "Hi there.", "voice": voice["id"],
                                                      "response_format": "wav"}).status_code == 200


def silent():
    return wav_bytes(np.zeros(32000, np.float32))


BAD_UPLOADS = [
    ("not audio", lambda: b"this is not audio at all" * 100, "libsndfile", 400),
    ("too long", lambda: wav_bytes(np.random.default_rng(0).uniform(-0.5, 0.5, 61 * 8000).astype(np.float32), 8000),
     "too long", 400),
    ("too big", lambda: b"\0" * (20 * 1024 * 1024 + 10), "larger than 20 MB", 413),
    ("silent", silent, "silent", 400),
    ("too short", lambda: wav_bytes(speech_like(0.6, 16000, seed=1)), "too short", 400),
]


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_bad_upload_is_a_4xx_naming_the_problem_and_adds_nothing(studio, voice, case):
    _, make, words, status = case
    with studio.client() as client:
        before = client.get("/v1/voices").json()["data"]
        response = add_voice(client, "upload", make())
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert words in error["message"] and error["param"] == "file" and error["type"] == "invalid_request_error"
        assert client.get("/v1/voices").json()["data"] == before


BAD_SPEECH = [
    ("empty input", {"input": "   "}, "input: empty"),
    ("input too long", {"input": "word " * 1000}, "at most 4096"),
    ("unknown voice", {"voice": "nobody"}, "voice 'nobody': no such voice"),
    ("unknown format", {"response_format": "ogg"}, "response_format"),
    ("speed out of range", {"speed": 9.0}, "speed: 9 is outside"),
    ("unknown model", {"model": "other"}, "model 'other': unknown"),
    ("unknown vocoder", {"vocoder": "hifigan"}, "vocoder 'hifigan': not available"),
    ("flac cannot stream", {"response_format": "flac", "stream": True}, "cannot be streamed"),
    ("missing voice", {"voice": None}, "voice: Field required"),
]


@pytest.mark.parametrize("case", BAD_SPEECH, ids=[c[0] for c in BAD_SPEECH])
def test_bad_speech_request_is_a_400_naming_the_problem(studio, voice, case):
    _, change, words = case
    body = {"model": "tfclone", "input": "Hello.", "voice": voice["id"], **change}
    body = {k: v for k, v in body.items() if v is not None}
    with studio.client() as client:
        response = client.post("/v1/audio/speech", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"], response.json()


def test_malformed_json_and_duplicate_names_are_4xx(studio, voice):
    with studio.client() as client:
        response = client.post("/v1/audio/speech", content=b'{"input": "x", ',
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
        duplicate = add_voice(client, voice["name"])
        assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_name"
        assert client.get("/v1/voices/nobody").status_code == 404


def test_an_api_key_guards_every_api_call(exported, tmp_path):
    from fastapi.testclient import TestClient

    from tfclone.inference import Cloner
    from tfclone.studio.app import create_app

    app = create_app(Cloner(str(exported)), VoiceLibrary(str(tmp_path / "voices.sqlite")), api_key="s3cret")
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200 and client.get("/").status_code == 200
        refused = client.get("/v1/voices")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        assert client.get("/v1/voices", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.post("/v1/audio/speech", json={"input": "x", "voice": "y"}).status_code == 401
        assert client.get("/v1/voices", headers={"Authorization": "Bearer s3cret"}).json() == {
            "object": "list", "data": []}


def test_health_and_models(studio):
    with studio.client() as client:
        assert client.get("/healthz").json()["status"] == "ok"
        model = client.get("/v1/models").json()["data"][0]
        assert model["id"] == "tfclone" and model["sample_rate"] == 16000
        assert model["vocoders"] == ["vocoder", "griffin_lim"] and model["default_vocoder"] == "vocoder"
        assert httpx.get(studio.url + "/openapi.json").json()["paths"]["/v1/audio/speech"]["post"]
