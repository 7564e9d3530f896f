"""The studio's ASGI app (FastAPI on Starlette): the voice library, an OpenAI-compatible speech API and the
page, over one Cloner. FastAPI because the API is the product here: request models give validation with
field-named errors and the OpenAPI document (which the fuzz test reads) for free; uvicorn serves it.

    app = create_app(Cloner("exported"), VoiceLibrary("studio/voices.sqlite"))

Every error is OpenAI's shape, {"error": {"message", "type", "param", "code"}}, with a 4xx for bad input.
"""
from __future__ import annotations

import io
import os
import secrets
import threading
import uuid
from collections import OrderedDict
from typing import Literal, Optional

import numpy as np
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from tfclone.inference import CloneError, Cloner
from tfclone.plots import pca_2d
from tfclone.studio import formats
from tfclone.studio.engine import Busy, Engine, Piece
from tfclone.studio.library import DuplicateName, VoiceLibrary

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MODEL_NAMES = ("tfclone", "tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # OpenAI's names are accepted as aliases
MAX_INPUT_CHARS = 4096  # OpenAI's own limit


class StudioError(Exception):
    def __init__(self, status: int, message: str, param: Optional[str] = None,
                 type_: str = "invalid_request_error", code: Optional[str] = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.param, self.type, self.code = status, message, param, type_, code
        self.headers = headers


def error_body(message: str, type_: str, param=None, code=None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class SpeechRequest(BaseModel):
    model: str = Field("tfclone", description="tfclone (OpenAI's tts-1, tts-1-hd and gpt-4o-mini-tts are aliases)")
    input: str = Field(..., description="The text to speak, at most 4096 characters.")
    voice: str = Field(..., description="A voice of the library, by id or name.")
    response_format: Optional[Literal["wav", "flac", "pcm", "mp3"]] = Field(
        None, description="Default mp3 (wav if this libsndfile cannot write mp3). pcm: 16-bit little-endian "
                          "mono at the rate in the X-Sample-Rate header.")
    speed: float = Field(1.0, description="0.25 to 4.0; a time-stretch that keeps the pitch.")
    stream: bool = Field(False, description="Send each sentence's audio as soon as it is ready (wav, pcm, mp3).")
    vocoder: Optional[Literal["hifigan", "vocoder", "griffin_lim"]] = Field(
        None, description="tfclone's extra: which exported vocoder (default: the best one exported).")


class Syntheses:
    """The last few syntheses' progress, mels and alignments (for the page's pictures), in memory."""

    def __init__(self, keep: int = 32):
        self.keep, self._items, self._lock = keep, OrderedDict(), threading.Lock()

    def add(self, job) -> str:
        sid = f"speech_{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._items[sid] = {"job": job, "mels": [], "alignments": []}
            while len(self._items) > self.keep:
                self._items.popitem(last=False)
        return sid

    def record(self, sid: str, synthesis) -> None:
        with self._lock:
            if sid in self._items:
                self._items[sid]["mels"].append(synthesis.mel)
                self._items[sid]["alignments"].append(synthesis.alignment)

    def get(self, sid: str) -> dict:
        with self._lock:
            item = self._items.get(sid)
        if item is None:
            raise StudioError(404, f"synthesis {sid!r}: unknown (only the last {self.keep} are kept)", "id",
                              code="not_found")
        return item


def _block_diagonal(matrices) -> np.ndarray:
    rows, cols = sum(m.shape[0] for m in matrices), sum(m.shape[1] for m in matrices)
    out, r, c = np.zeros([rows, cols], np.float32), 0, 0
    for m in matrices:
        out[r:r + m.shape[0], c:c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out


_PLOT_LOCK = threading.Lock()  # pyplot is not thread-safe


def create_app(cloner: Cloner, library: VoiceLibrary, *, api_key: Optional[str] = None, max_jobs: int = 16,
               max_batch: int = 8, max_upload_bytes: int = 20 * 1024 * 1024, max_clip_seconds: float = 60.0,
               min_clip_seconds: float = 1.0) -> FastAPI:
    from contextlib import asynccontextmanager

    engine = Engine(cloner, max_jobs=max_jobs, max_batch=max_batch)
    syntheses = Syntheses()
    writable = formats.available()
    default_format = "mp3" if "mp3" in writable else "wav"

    @asynccontextmanager
    async def lifespan(_app):
        yield
        engine.stop()

    app = FastAPI(title="tfclone studio", version="1",
                  description="Few-shot voice cloning: a voice library and an OpenAI-compatible speech API.",
                  lifespan=lifespan)
    app.state.engine, app.state.library, app.state.cloner = engine, library, cloner

    # ------------------------------------------------------------------------------------- errors
    @app.exception_handler(StudioError)
    async def _studio_error(_request, e: StudioError):
        return JSONResponse(error_body(e.message, e.type, e.param, e.code), e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request, e: RequestValidationError):
        first = e.errors()[0] if e.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header"))
        message = f"{where}: {first['msg']}" if where else first["msg"]
        if first.get("type") == "json_invalid":
            message, where = f"the body is not valid JSON ({first.get('ctx', {}).get('error', first['msg'])})", ""
        return JSONResponse(error_body(message, "invalid_request_error", where or None), 400)

    @app.exception_handler(HTTPException)
    async def _http_error(_request, e: HTTPException):
        return JSONResponse(error_body(str(e.detail), "invalid_request_error"), e.status_code,
                            headers=getattr(e, "headers", None))

    def authorize(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("authorization", "")
        if not (given.startswith("Bearer ") and secrets.compare_digest(given[7:].strip(), api_key)):
            raise StudioError(401, "a valid API key is required (Authorization: Bearer <key>)",
                              code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})

    api = [Depends(authorize)]

    # ------------------------------------------------------------------------------------- the page
    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(os.path.join(STATIC, "index.html"))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", summary="Liveness and queue length")
    async def healthz():
        return {"status": "ok", "backend": cloner.backend.describe(), "open_requests": engine.open_jobs,
                "model_calls": engine.batches}

    @app.get("/v1/models", dependencies=api, summary="The model and its vocoders")
    async def models():
        return {"object": "list", "data": [{
            "id": "tfclone", "object": "model", "owned_by": "tfclone", "sample_rate": cloner.sample_rate,
            "vocoders": cloner.vocoders(), "default_vocoder": cloner.vocoder, "response_formats": list(writable)}]}

    # ------------------------------------------------------------------------------------- voices
    def read_clip(data: bytes, filename: str):
        import soundfile as sf

        from tfclone.audio import effects
        from tfclone.audio import io as audio_io

        try:
            info = sf.info(io.BytesIO(data))
        except Exception:  # pylint: disable=broad-except  # libsndfile's errors vary by version
            raise StudioError(400, f"file {filename!r}: not audio that libsndfile reads (wav, flac, ogg, mp3)",
                              "file", code="invalid_audio") from None
        if info.frames <= 0 or info.samplerate <= 0:
            raise StudioError(400, f"file {filename!r}: empty audio", "file", code="invalid_audio")
        if info.duration > max_clip_seconds:
            raise StudioError(400, f"file {filename!r}: {info.duration:.1f} s is too long (at most "
                              f"{max_clip_seconds:g} s; a few seconds of speech are enough)", "file",
                              code="audio_too_long")
        try:
            wav, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        except Exception:  # pylint: disable=broad-except
            raise StudioError(400, f"file {filename!r}: unreadable audio", "file", code="invalid_audio") from None
        wav = wav.mean(axis=1)
        try:
            audio_io.check(wav, rate, name=f"file {filename!r}")
            wav = audio_io.resample(wav, rate, cloner.encoder_rate)
            trimmed = effects.trim_silence(wav, top_db=40.0, frame_length=cloner.encoder_rate // 20,
                                           hop_length=cloner.encoder_rate // 80)
            audio_io.check(trimmed, cloner.encoder_rate, name=f"file {filename!r} (silence trimmed)",
                           min_seconds=min_clip_seconds)
        except audio_io.AudioError as e:
            raise StudioError(400, str(e), "file", code=f"audio_{e.reason}") from None
        return trimmed

    @app.post("/v1/voices", dependencies=api, status_code=201, summary="Add a voice from a clip")
    async def add_voice(file: UploadFile = File(..., description="A few seconds of speech (wav, flac, ogg, mp3)"),
                        name: str = Form(..., description="A unique name")):
        name = name.strip()
        if not name or len(name) > 100:
            raise StudioError(400, "name: must be 1 to 100 characters", "name")
        if library.find(name) is not None:
            raise StudioError(409, f"name {name!r}: a voice of that name exists already", "name",
                              code="duplicate_name")
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise StudioError(413, f"file {file.filename!r}: larger than {max_upload_bytes // (1024 * 1024)} MB",
                              "file", code="file_too_large")
        clip = await run_in_threadpool(read_clip, data, file.filename or "upload")
        try:
            embedding = await run_in_threadpool(cloner.embed, (clip, cloner.encoder_rate))
            voice = library.add(name, clip, cloner.encoder_rate, embedding)
        except CloneError as e:
            raise StudioError(400, str(e), "file", code="invalid_audio") from None
        except DuplicateName as e:
            raise StudioError(409, str(e), "name", code="duplicate_name") from None
        return voice.describe()

    @app.get("/v1/voices", dependencies=api, summary="The voice library")
    async def list_voices():
        return {"object": "list", "data": [v.describe() for v in library.voices()]}

    @app.get("/v1/voices/map", dependencies=api, summary="The voices on a 2-D PCA map of their embeddings")
    async def voice_map():
        voices = library.voices()
        coords = pca_2d(np.stack([v.embedding for v in voices])) if voices else np.zeros([0, 2])
        return {"object": "list", "data": [{"id": v.id, "name": v.name, "x": float(x), "y": float(y)}
                                           for v, (x, y) in zip(voices, coords)]}

    def voice_or_404(voice_id: str):
        voice = library.find(voice_id)
        if voice is None:
            raise StudioError(404, f"voice {voice_id!r}: no such voice", "voice_id", code="voice_not_found")
        return voice

    @app.get("/v1/voices/{voice_id}", dependencies=api, summary="One voice (by id or name)")
    async def get_voice(voice_id: str):
        return voice_or_404(voice_id).describe()

    @app.get("/v1/voices/{voice_id}/audio", dependencies=api, summary="The voice's trimmed reference clip (WAV)",
             response_class=Response)
    async def get_voice_audio(voice_id: str):
        return Response(library.clip(voice_or_404(voice_id).id), media_type="audio/wav")

    @app.delete("/v1/voices/{voice_id}", dependencies=api, summary="Remove a voice")
    async def delete_voice(voice_id: str):
        voice = voice_or_404(voice_id)
        library.delete(voice.id)
        return {"id": voice.id, "object": "voice", "deleted": True}

    # ------------------------------------------------------------------------------------- speech
    def stretch(wav: np.ndarray, speed: float) -> np.ndarray:
        if speed == 1.0 or len(wav) < 2048:
            return wav
        import librosa

        return librosa.effects.time_stretch(wav, rate=speed).astype(np.float32)

    @app.post("/v1/audio/speech", dependencies=api, response_class=Response,
              summary="Speak text in a library voice (OpenAI's /v1/audio/speech)",
              responses={200: {"content": {t: {} for t in formats.CONTENT_TYPES.values()},
                               "description": "The audio; X-Tfclone-Synthesis names it for /v1/syntheses"}})
    async def speech(body: SpeechRequest):
        if body.model not in MODEL_NAMES:
            raise StudioError(400, f"model {body.model!r}: unknown (use tfclone)", "model", code="model_not_found")
        if not body.input.strip():
            raise StudioError(400, "input: empty", "input")
        if len(body.input) > MAX_INPUT_CHARS:
            raise StudioError(400, f"input: {len(body.input)} characters, at most {MAX_INPUT_CHARS}", "input")
        if not 0.25 <= body.speed <= 4.0:
            raise StudioError(400, f"speed: {body.speed:g} is outside 0.25 to 4.0", "speed")
        fmt = body.response_format or default_format
        if fmt not in writable:
            raise StudioError(400, f"response_format {fmt!r}: this server's libsndfile cannot write it "
                              f"(available: {', '.join(writable)})", "response_format")
        if body.stream and fmt not in formats.STREAMABLE:
            raise StudioError(400, f"response_format {fmt!r}: cannot be streamed (use "
                              f"{', '.join(formats.STREAMABLE)})", "response_format")
        voice = library.find(body.voice)
        if voice is None:
            raise StudioError(400, f"voice {body.voice!r}: no such voice in the library (GET /v1/voices)",
                              "voice", code="voice_not_found")
        vocoder = body.vocoder or cloner.vocoder
        if vocoder not in cloner.vocoders():
            raise StudioError(400, f"vocoder {vocoder!r}: not available here (available: "
                              f"{', '.join(cloner.vocoders())})", "vocoder")
        try:
            sentences = cloner.sentences(body.input)
        except CloneError as e:
            raise StudioError(400, f"input: {e}", "input") from None
        try:
            # A stretched sentence is stretched whole: pieces only at speed 1 (and only when streaming).
            job = engine.submit(voice.embedding, sentences, vocoder, stream=body.stream, pieces=body.speed == 1.0)
        except Busy as e:
            raise StudioError(503, str(e), type_="server_busy", code="busy",
                              headers={"Retry-After": str(e.retry_after)}) from None
        sid = syntheses.add(job)
        rate = cloner.sample_rate
        headers = {"X-Tfclone-Synthesis": sid, "X-Sample-Rate": str(rate), "X-Tfclone-Sentences": str(job.total)}

        def next_piece():
            item = job.get(timeout=600)
            if item is not None and not isinstance(item, Piece):
                syntheses.record(sid, item[1])
            return item

        if body.stream:
            pause = np.zeros(int(cloner.pause_seconds * rate), np.float32)

            async def pieces():
                try:
                    yield formats.stream_header(rate, fmt)
                    first, sent_in_pieces = True, False
                    while True:
                        item = await run_in_threadpool(next_piece)
                        if item is None:
                            return
                        if isinstance(item, Piece):  # part of the first sentence, ahead of its result
                            yield formats.stream_piece(item.audio, rate, fmt)
                            sent_in_pieces = True
                            continue
                        if not sent_in_pieces:
                            wav = stretch(item[1].audio, body.speed)
                            yield formats.stream_piece(wav if first else np.concatenate([pause, wav]), rate, fmt)
                        first, sent_in_pieces = False, False
                finally:
                    job.cancel()

            return StreamingResponse(pieces(), media_type=formats.CONTENT_TYPES[fmt], headers=headers)

        waveforms = []
        while True:
            item = await run_in_threadpool(next_piece)
            if item is None:
                break
            waveforms.append(stretch(item[1].audio, body.speed))
        audio = await run_in_threadpool(formats.encode, cloner.join(waveforms), rate, fmt)
        return Response(audio, media_type=formats.CONTENT_TYPES[fmt], headers=headers)

    @app.get("/v1/syntheses/{synthesis_id}", dependencies=api, summary="Progress of a synthesis")
    async def synthesis_progress(synthesis_id: str):
        job = syntheses.get(synthesis_id)["job"]
        return {"id": synthesis_id, "object": "synthesis", "sentences": job.total, "done": len(job.finished_at),
                "finished_at": job.finished_at}

    def picture(synthesis_id: str, kind: str) -> bytes:
        from tfclone import plots

        item = syntheses.get(synthesis_id)
        if not item["mels"]:
            raise StudioError(404, f"synthesis {synthesis_id!r}: no audio yet", "id", code="not_ready")
        with _PLOT_LOCK:
            if kind == "mel":
                return plots.matrix_png(np.concatenate(item["mels"]).T, "mel spectrogram", "frame", "mel channel")
            return plots.matrix_png(_block_diagonal(item["alignments"]).T, "attention alignment",
                                    "decoder step", "text token")

    @app.get("/v1/syntheses/{synthesis_id}/mel.png", dependencies=api, response_class=Response,
             summary="The mel spectrogram of a synthesis (PNG)")
    async def mel_png(synthesis_id: str):
        return Response(await run_in_threadpool(picture, synthesis_id, "mel"), media_type="image/png")

    @app.get("/v1/syntheses/{synthesis_id}/alignment.png", dependencies=api, response_class=Response,
             summary="The attention alignment of a synthesis, sentence by sentence (PNG)")
    async def alignment_png(synthesis_id: str):
        return Response(await run_in_threadpool(picture, synthesis_id, "alignment"), media_type="image/png")

    return app
