"""Where the models run: local SavedModels (tf.saved_model.load, no model code), or a TF Serving server
over REST (JSON predict API) or gRPC (PredictionService from tensorflow-serving-api). Each backend runs a
model's serving_default on a dict of NumPy arrays and returns a dict of NumPy arrays."""
from __future__ import annotations

import json
import socket
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import Future
from typing import Dict, List, Optional

import numpy as np

from tfclone.export.layout import ExportError, latest_version


def _tensorflow():
    """TensorFlow, imported on first need: inside a tool by its quiet import (tfclone.cli.import_tensorflow),
    in a library plainly."""
    cli = sys.modules.get("tfclone.cli")
    if cli is not None:
        return cli.import_tensorflow()
    import tensorflow as tf

    return tf


class CloneError(RuntimeError):
    """Bad input or an unusable model set / server; the message names which and what is wrong."""


class LocalBackend:
    """SavedModels in this process. `paths`: model name -> SavedModel folder, loaded now (`preload`) or on
    first use; with `export_base`, any other model exported there (another vocoder, say) is loaded on its
    first use. `prefetch(model)` loads one in a background thread, which `run` waits for. `signatures`: model
    name -> the signature to run instead of serving_default where the SavedModel has it (the synthesizer's
    `plain` for a one-shot process)."""

    def __init__(self, paths: Dict[str, str], export_base: Optional[str] = None, preload: bool = True,
                 signatures: Optional[Dict[str, str]] = None):
        self._tf = None  # TensorFlow, imported with the first model
        self._signatures = dict(signatures or {})
        self.signature_run: Dict[str, str] = {}  # model -> the signature its loaded function is
        self._loads: Dict[str, Future] = {}  # model -> its load (a signature function, or the load's error)
        self._paths = dict(paths)
        self._export_base = export_base
        self._lock = threading.Lock()
        if preload:
            for name in paths:
                self._function(name)

    def _load(self, name: str, path: str):
        if self._tf is None:
            self._tf = _tensorflow()
        try:
            loaded = self._tf.saved_model.load(path).signatures
            signature = self._signatures.get(name, "serving_default")
            signature = signature if signature in loaded else "serving_default"  # an export from before it
            function = loaded[signature]
            self.signature_run[name] = signature
            return function
        except (OSError, ValueError, KeyError, self._tf.errors.OpError) as e:
            raise CloneError(f"{path}: cannot load the {name} SavedModel ({str(e).splitlines()[0]})") from None

    def describe(self) -> str:
        return "local SavedModels"

    def loaded(self) -> List[str]:
        """The models loaded or being loaded, in the order their loads began."""
        with self._lock:
            return list(self._loads)

    def _resolve_and_load(self, model: str, load: Future) -> None:
        try:
            path = self._paths.get(model)
            if path is None:
                try:
                    path = latest_version(self._export_base, model)
                except ExportError as e:
                    raise CloneError(str(e)) from None
            load.set_result(self._load(model, path))
        except BaseException as e:  # handed to whoever waits for the model; the next use tries again
            with self._lock:
                if self._loads.get(model) is load:
                    del self._loads[model]
            load.set_exception(e)

    def _start(self, model: str, background: bool) -> Future:
        if model not in self._paths and self._export_base is None:
            raise CloneError(f"{model}: not loaded")
        with self._lock:
            load = self._loads.get(model)
            new = load is None
            if new:
                load = self._loads[model] = Future()
        if new and background:
            threading.Thread(target=self._resolve_and_load, args=(model, load), daemon=True,
                             name=f"load-{model}").start()
        elif new:
            self._resolve_and_load(model, load)
        return load

    def _function(self, model: str):
        return self._start(model, background=False).result()

    def prefetch(self, model: str) -> None:
        """Start loading `model` in a background thread (nothing when it is loaded or loading). A SavedModel's
        load is mostly Python, and a model's call mostly TensorFlow's C++ without the GIL: loading the
        vocoder while the synthesizer decodes the first sentence takes ~1 s off a cold `tfclone-clone`
        (README, speed section). A failed load raises where the model is used, and is tried again after."""
        self._start(model, background=True)

    def run(self, model: str, inputs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        outputs = self._function(model)(**{k: self._tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in outputs.items()}


def _split_address(address: str):
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CloneError(f"--server {address}: expected HOST:PORT")
    return host, int(port)


class RestBackend:
    """TF Serving's REST predict API: POST /v1/models/<name>:predict {"inputs": {...}} (columnar)."""

    def __init__(self, address: str, timeout: float = 300.0):
        self.host, self.port = _split_address(address)
        self.address, self.timeout = address, timeout

    def describe(self) -> str:
        return f"TF Serving REST at {self.address}"

    def prefetch(self, model: str) -> None:
        """Nothing: the server loaded its models at start."""

    def run(self, model, inputs):
        body = json.dumps({"signature_name": "serving_default",
                           "inputs": {k: v.tolist() for k, v in inputs.items()}}).encode("utf-8")
        request = urllib.request.Request(f"http://{self.host}:{self.port}/v1/models/{model}:predict", data=body,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:300]
            raise CloneError(f"server {self.address}: {model} request failed (HTTP {e.code}: {detail})") from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as e:
            reason = getattr(e, "reason", e)
            raise CloneError(f"server {self.address}: unreachable over REST ({reason})") from None
        outputs = payload.get("outputs")
        if not isinstance(outputs, dict):  # a single output comes back bare
            raise CloneError(f"server {self.address}: unexpected {model} response ({str(payload)[:200]})")
        return {k: np.asarray(v, np.int32 if k.endswith("length") else np.float32) for k, v in outputs.items()}


class GrpcBackend:
    """TF Serving's gRPC PredictionService (tensorflow-serving-api)."""

    def __init__(self, address: str, timeout: float = 300.0, connect_timeout: float = 5.0):
        import grpc

        _tensorflow()  # the serving protos import TensorFlow: quietly inside a tool
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        _split_address(address)
        self.address, self.timeout, self._grpc = address, timeout, grpc
        self._channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", 1 << 30),
                                                                ("grpc.max_send_message_length", 1 << 30)])
        try:
            grpc.channel_ready_future(self._channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            raise CloneError(f"server {address}: unreachable over gRPC (no connection within "
                             f"{connect_timeout:g} s)") from None
        self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    def describe(self) -> str:
        return f"TF Serving gRPC at {self.address}"

    def prefetch(self, model: str) -> None:
        """Nothing: the server loaded its models at start."""

    def run(self, model, inputs):
        tf = _tensorflow()
        from tensorflow_serving.apis import model_pb2, predict_pb2

        request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=model,
                                                                            signature_name="serving_default"))
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        try:
            response = self._stub.Predict(request, timeout=self.timeout)
        except self._grpc.RpcError as e:
            code = e.code()
            if code in (self._grpc.StatusCode.UNAVAILABLE, self._grpc.StatusCode.DEADLINE_EXCEEDED):
                raise CloneError(f"server {self.address}: unreachable over gRPC ({e.details()})") from None
            raise CloneError(f"server {self.address}: {model} request failed ({code.name}: {e.details()})") from None
        return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}
