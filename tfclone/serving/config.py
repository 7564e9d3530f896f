"""`exported/models.config` (tensorflow.serving.ModelServerConfig, from tensorflow-serving-api) and the
batching parameters file (tensorflow.serving.BatchingParameters) for `tensorflow_model_server`.

tensorflow-serving-api ships model_server_config_pb2 but not session_bundle_config.proto, where
BatchingParameters lives; its schema is declared here field for field (names, numbers, types) from
tensorflow_serving/servables/tensorflow/session_bundle_config.proto, and files are written and re-read
through that message with protobuf's text_format, so a misspelled or mistyped field fails here, not in
the server.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, Sequence

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

from tfclone.export.layout import exported_models
from tfclone.fileio import atomic_write_text


class ServingConfigError(ValueError):
    """A serving config that TF Serving would refuse."""


def _batching_parameters_class():
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    f = descriptor_pb2.FileDescriptorProto(name="tensorflow_serving/servables/tensorflow/batching_parameters.proto",
                                           package="tensorflow.serving", syntax="proto3",
                                           dependency=["google/protobuf/wrappers.proto"])
    m = f.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for name, number, kind, type_name, label in (
            ("max_batch_size", 1, F.TYPE_MESSAGE, ".google.protobuf.Int64Value", F.LABEL_OPTIONAL),
            ("batch_timeout_micros", 2, F.TYPE_MESSAGE, ".google.protobuf.Int64Value", F.LABEL_OPTIONAL),
            ("max_enqueued_batches", 3, F.TYPE_MESSAGE, ".google.protobuf.Int64Value", F.LABEL_OPTIONAL),
            ("num_batch_threads", 4, F.TYPE_MESSAGE, ".google.protobuf.Int64Value", F.LABEL_OPTIONAL),
            ("thread_pool_name", 5, F.TYPE_MESSAGE, ".google.protobuf.StringValue", F.LABEL_OPTIONAL),
            ("allowed_batch_sizes", 6, F.TYPE_INT64, None, F.LABEL_REPEATED),
            ("pad_variable_length_inputs", 7, F.TYPE_BOOL, None, F.LABEL_OPTIONAL)):
        field = m.field.add(name=name, number=number, type=kind, label=label)
        if type_name:
            field.type_name = type_name
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


BatchingParameters = _batching_parameters_class()


@dataclass(frozen=True)
class Batching:
    max_batch_size: int = 8
    batch_timeout_micros: int = 20000
    max_enqueued_batches: int = 16
    num_batch_threads: int = 2
    allowed_batch_sizes: Sequence[int] = (1, 2, 4, 8)

    @classmethod
    def up_to(cls, max_batch_size: int, **options) -> "Batching":
        """Allowed batch sizes: the powers of two below max_batch_size, then max_batch_size."""
        sizes = tuple(2 ** i for i in range(max_batch_size.bit_length()) if 2 ** i < max_batch_size)
        return cls(max_batch_size=max_batch_size, allowed_batch_sizes=sizes + (max_batch_size,), **options)

    def check(self) -> None:
        for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads"):
            if getattr(self, name) < 1:
                raise ServingConfigError(f"batching.{name}: must be >= 1 (got {getattr(self, name)})")
        if self.batch_timeout_micros < 0:
            raise ServingConfigError(f"batching.batch_timeout_micros: must be >= 0 (got {self.batch_timeout_micros})")
        sizes = list(self.allowed_batch_sizes)
        if sizes and (sizes != sorted(set(sizes)) or sizes[-1] != self.max_batch_size or sizes[0] < 1):
            raise ServingConfigError(f"batching.allowed_batch_sizes: must increase and end at max_batch_size "
                                     f"{self.max_batch_size} (got {sizes})")


def batching_parameters_text(batching: Batching) -> str:
    batching.check()
    message = BatchingParameters(pad_variable_length_inputs=True,  # token ids, mels and clips vary in length
                                 allowed_batch_sizes=list(batching.allowed_batch_sizes))
    for name in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches", "num_batch_threads"):
        getattr(message, name).value = getattr(batching, name)
    return text_format.MessageToString(message)


def models_config_text(models: Dict[str, str]) -> str:
    """{model name: base path (absolute, holding numbered versions)} -> ModelServerConfig text."""
    from tensorflow_serving.config import model_server_config_pb2

    config = model_server_config_pb2.ModelServerConfig()
    for name, base_path in models.items():
        if not os.path.isabs(base_path):
            raise ServingConfigError(f"{name}: base_path must be absolute for tensorflow_model_server (got {base_path})")
        entry = config.model_config_list.config.add(name=name, base_path=base_path, model_platform="tensorflow")
        entry.model_version_policy.latest.num_versions = 1
    return text_format.MessageToString(config)


def write_serving_configs(export_dir: str, batching: Batching = Batching(), base_path: str = "",
                          filename: str = "models.config") -> Dict[str, str]:
    """Writes <export_dir>/models.config (base paths under `base_path`, default the absolute export_dir; use
    /models for the Docker image's volume) and <export_dir>/batching_parameters.txt; each is parsed back
    with the protos before it is returned. Returns {"models_config": path, "batching_parameters": path}."""
    from tensorflow_serving.config import model_server_config_pb2

    models = exported_models(export_dir)
    if not models:
        raise ServingConfigError(f"{export_dir}: no exported models (run tfclone-export first)")
    root = base_path or os.path.abspath(export_dir)
    text = models_config_text({name: os.path.join(root, name) for name in models})
    text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    batching_text = batching_parameters_text(batching)
    text_format.Parse(batching_text, BatchingParameters())
    paths = {"models_config": os.path.join(export_dir, filename),
             "batching_parameters": os.path.join(export_dir, "batching_parameters.txt")}
    atomic_write_text(paths["models_config"], text)
    atomic_write_text(paths["batching_parameters"], batching_text)
    return paths
