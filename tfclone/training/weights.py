"""Compact weight files: a trained model's variables (no optimizer state) in one .npz, float16 by default,
for committing demo weights to the repository and warm-starting a training run from them
(`tfclone-train --init_weights FILE`).

The arrays are stored in the model's variable order (deterministic for one architecture), each with its
path and shape; loading checks both, so a file never lands in a model of another shape. A partial load
(`tfclone-train --init_weights_partial`) matches by path instead and takes what fits: a model that changed
one part (Tacotron 2's r, a wider or deeper postnet) starts from everything else the file holds, and a model
may fit a stored weight of another shape itself (`fit_stored_weight`: Tacotron 2's frame projection across
reduction factors).
"""
from __future__ import annotations

import io
import json
from typing import Dict, List, Tuple

import numpy as np

from tfclone.fileio import atomic_write_bytes


class WeightsError(ValueError):
    """The weight file does not fit the model (count, shape) or is not a weight file."""


def pack(model, dtype: str = "float16") -> bytes:
    arrays: Dict[str, np.ndarray] = {}
    meta = []
    for i, variable in enumerate(model.weights):
        value = np.asarray(variable.numpy())
        stored = value.astype(dtype) if value.dtype.kind == "f" else value
        arrays[f"w{i:04d}"] = stored
        meta.append({"path": variable.path, "shape": list(value.shape), "dtype": str(value.dtype)})
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save_weights(model, path: str, dtype: str = "float16") -> str:
    """Writes the model's variables to `path` (.npz) atomically; returns the path."""
    atomic_write_bytes(path, pack(model, dtype))
    return path


def _read(path: str) -> Tuple[list, List[np.ndarray]]:
    try:
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            return meta, [data[f"w{i:04d}"] for i in range(len(meta))]
    except (OSError, KeyError, ValueError) as e:
        raise WeightsError(f"{path}: not a tfclone weight file ({e})") from None


def load_weights(model, path: str) -> int:
    """Assigns the file's arrays to the model's variables in order; returns how many. WeightsError if the
    file's variables do not match the model's in count and shapes."""
    meta, arrays = _read(path)
    variables = model.weights
    if len(variables) != len(meta):
        raise WeightsError(f"{path}: holds {len(meta)} variables, the model has {len(variables)}")
    for variable, info, value in zip(variables, meta, arrays):
        if list(variable.shape) != info["shape"]:
            raise WeightsError(f"{path}: {info['path']} has shape {info['shape']}, the model's {variable.path} "
                               f"{list(variable.shape)}")
        variable.assign(value.astype(info["dtype"]))
    return len(variables)


def load_weights_partial(model, path: str) -> Tuple[int, Dict[str, str], Dict[str, str]]:
    """Assigns each of the file's arrays to the model's variable of the same path and shape, or of another
    shape where the model's `fit_stored_weight(path, value, shape)` makes it fit. Returns how many were
    assigned, for every model variable left at its initial value why ("not in the file" or the two shapes),
    and for every one fitted from another shape the two shapes. WeightsError if the file is not a weight
    file or no variable fits (another model)."""
    meta, arrays = _read(path)
    stored = {info["path"]: (info, value) for info, value in zip(meta, arrays)}
    paths = [variable.path for variable in model.weights]
    if len(set(paths)) != len(paths):
        raise WeightsError(f"{path}: the model's variable paths are not unique; a partial load needs them")
    fit = getattr(model, "fit_stored_weight", None)
    assigned, left, fitted = [], {}, {}
    for variable in model.weights:
        if variable.path not in stored:
            left[variable.path] = "not in the file"
            continue
        info, value = stored[variable.path]
        shape = list(variable.shape)
        shapes = f"shape {shape}, the file's {info['shape']}"
        if shape != info["shape"]:
            value = fit(variable.path, value, tuple(shape)) if fit is not None else None
            if value is None or list(value.shape) != shape:
                left[variable.path] = shapes
                continue
            fitted[variable.path] = shapes
        assigned.append((variable, value.astype(info["dtype"])))
    if not assigned:
        raise WeightsError(f"{path}: none of its {len(meta)} variables fits the model (paths and shapes differ)")
    for variable, value in assigned:
        variable.assign(value)
    return len(assigned), left, fitted
