"""torch.save files read with pickle and NumPy alone, no torch: tensors come back as NumPy arrays.

Two formats: the legacy (pre-1.6) stream of pickles (magic number, protocol version, system info, the
object with storages referenced by persistent ids, the storage keys, then each storage's raw
little-endian data), and the zip archive (<name>/data.pkl, the same object pickle, and each storage in
<name>/data/<key>). Only tensors, OrderedDicts and plain containers are accepted; anything else in the
pickle is refused, so a checkpoint cannot run code.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from typing import Callable, Dict

import numpy as np

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
           "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
_MAGIC = 0x1950A86A20F9469CFC6C


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_DTYPES[name])


class _Storage:
    def __init__(self, dtype, size):
        self.dtype, self.size, self.data = dtype, size, None


class _LazyTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def resolve(self) -> np.ndarray:
        data = self.storage.data
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * itemsize for s in self.stride])
        return np.array(view)  # a contiguous copy


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, backward_hooks=None, *args):
    return _LazyTensor(storage, offset, size, stride)


def _resolve(obj):
    if isinstance(obj, _LazyTensor):
        return obj.resolve()
    if isinstance(obj, dict):
        return type(obj)((k, _resolve(v)) for k, v in obj.items()) if isinstance(obj, collections.OrderedDict) \
            else {k: _resolve(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v) for v in obj)
    return obj


def _unpickler(stream, storages: Dict[str, "_Storage"], load: Callable[["_Storage", str], None] = None):
    """An unpickler that rebuilds tensors lazily and refuses any other class; `load(storage, key)` fills a
    storage's data when it is first referenced (zip format), else the caller fills them afterwards."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "torch._utils" and name == "_rebuild_tensor_v2":
                return _rebuild_tensor_v2
            if module == "torch" and name in _DTYPES:
                return _StorageType(name)
            if module == "collections" and name == "OrderedDict":
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a torch checkpoint")

        def persistent_load(self, pid):
            kind, storage_type, key, _location, size = pid[:5]
            if kind != "storage":
                raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
            if key not in storages:
                storages[key] = _Storage(storage_type.dtype, size)
                if load is not None:
                    load(storages[key], key)
            return storages[key]

    return Unpickler(stream)


def read_legacy_torch(stream) -> Dict:
    """Reads a legacy torch.save file object."""
    storages: Dict[str, _Storage] = {}
    if pickle.load(stream) != _MAGIC:
        raise ValueError("not a legacy torch checkpoint (bad magic number)")
    pickle.load(stream)  # protocol version
    pickle.load(stream)  # system info
    obj = _unpickler(stream, storages).load()
    for key in pickle.load(stream):
        storage = storages[key]
        (count,) = struct.unpack("<q", stream.read(8))
        storage.data = np.frombuffer(stream.read(count * storage.dtype.itemsize), dtype=storage.dtype.newbyteorder("<"))
    return _resolve(obj)




def read_zip_torch(data: bytes) -> Dict:
    """Reads a zip-format torch.save file from its bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise ValueError("not a zip torch checkpoint (no data.pkl)")
        prefix = pickles[0][:-len("data.pkl")]
        order = archive.read(prefix + "byteorder").decode().strip() if prefix + "byteorder" in names else "little"
        if order != "little":
            raise ValueError(f"torch checkpoint in {order}-endian byte order is not supported")

        def load(storage, key):
            raw = archive.read(f"{prefix}data/{key}")
            storage.data = np.frombuffer(raw, dtype=storage.dtype.newbyteorder("<"))

        obj = _unpickler(io.BytesIO(archive.read(pickles[0])), {}, load).load()
    return _resolve(obj)


def read_torch(data: bytes) -> Dict:
    """Either format, from the file's bytes."""
    if data[:4] == b"PK\x03\x04":
        return read_zip_torch(data)
    return read_legacy_torch(io.BytesIO(data))
