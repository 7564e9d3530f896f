"""Shared export machinery: restore a checkpoint (asserting every model variable came from it), write a
SavedModel with named signatures into a numbered version folder atomically, with the resolved config
under assets/ and TF Serving warm-up requests under assets.extra/."""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfclone.export.layout import ExportError, next_version
from tfclone.fileio import atomic_write_text


def restore_model(model, model_dir: str, checkpoint: Optional[str] = None, key: str = "model") -> str:
    """Restores `model` from the latest (or given) checkpoint, from the object saved under `key` ("model",
    or "ema_model" for the moving average of the weights); every model variable must be found."""
    from tfclone.layers.tracking import untracked_variables

    missing = untracked_variables(model)
    if missing:
        raise ExportError(f"model variables invisible to checkpoints (kept only in a Python list?): {missing}")
    path = checkpoint or tf.train.latest_checkpoint(model_dir)
    if not path:
        raise ExportError(f"{model_dir}: no checkpoint to export (train first, or pass --checkpoint)")
    try:
        if not any(name.split("/")[0] == key for name, _ in tf.train.list_variables(path)):
            raise ExportError(f"{path}: has no '{key}' (was it trained with that option?)")
        status = tf.train.Checkpoint(**{key: model}).read(path)
        status.assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as e:
        raise ExportError(f"{path}: does not hold every variable of this model ({e})") from None
    status.expect_partial()  # optimizer slots and loss parameters are not exported
    return path


def track_raw_variables(module: tf.Module) -> None:
    """Keras 3 checkpoints its keras.Variable wrappers, which TF1-style loaders (TF Serving's C++
    SavedModelBundle, saved_model_cli run) cannot restore: they fail with "Could not find variable ...".
    The SavedModel tracks the underlying tf.Variables instead (as keras.export.ExportArchive does), and
    only them: a Keras layer held by the module stays usable for tracing but is no longer a dependency, so
    each weight is written (and loaded, and held in memory) once, not twice."""
    import keras
    from tensorflow.python.trackable.data_structures import NoDependency  # no public spelling in TF 2.21

    raw = []
    for name, value in list(vars(module).items()):
        if isinstance(value, keras.layers.Layer):
            raw.extend(v.value for v in value.variables)
            delattr(module, name)  # drops the checkpoint dependency
            setattr(module, name, NoDependency(value))
    if raw:
        module.tf_variables = raw


def write_warmup(path: str, model_name: str, inputs: Dict[str, np.ndarray]) -> None:
    """assets.extra/tf_serving_warmup_requests: one PredictionLog with a PredictRequest of `inputs`."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default"))
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(log.SerializeToString())


def save(module: tf.Module, signatures: Dict, export_base: str, model_name: str, config,
         warmup_inputs: Dict[str, np.ndarray], extra_assets: Optional[Dict[str, str]] = None,
         version: Optional[int] = None) -> str:
    """Writes <export_base>/<model_name>/<version>/ atomically; returns its path."""
    base = os.path.join(export_base, model_name)
    version = version or next_version(base)
    final = os.path.join(base, str(version))
    if os.path.exists(final):
        raise ExportError(f"{final}: already exists; choose another --version")
    os.makedirs(base, exist_ok=True)
    track_raw_variables(module)
    tmp = tempfile.mkdtemp(prefix=".tmp-export-", dir=base)
    try:
        with tempfile.TemporaryDirectory() as staging:  # tf.saved_model.save copies assets into assets/
            config_path = os.path.join(staging, "config.yaml")
            config.save(config_path)
            module.config_file = tf.saved_model.Asset(config_path)
            for name, source in (extra_assets or {}).items():
                staged = os.path.join(staging, name)
                shutil.copyfile(source, staged)
                setattr(module, name.replace(".", "_") + "_file", tf.saved_model.Asset(staged))
            tf.saved_model.save(module, tmp, signatures=signatures)
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        write_warmup(os.path.join(extra, "tf_serving_warmup_requests"), model_name, warmup_inputs)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    atomic_write_text(os.path.join(base, "LATEST"), f"{version}\n")
    return final
