"""tf.distribute strategies by name: default, mirrored (all local GPUs, else the CPU devices), and
multi_worker (MultiWorkerMirroredStrategy, cluster from TF_CONFIG)."""
from __future__ import annotations

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")


def split_cpu(num_devices: int) -> None:
    """Splits the CPU into `num_devices` logical devices (for MirroredStrategy without GPUs, e.g. tests).
    Must run before TensorFlow initializes its devices."""
    if num_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)


def make_strategy(name: str) -> tf.distribute.Strategy:
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(cpus, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi_worker":
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    raise ValueError(f"strategy: unknown strategy {name!r} (known: {', '.join(STRATEGIES)})")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True for the one process that writes checkpoints, summaries and plots to model_dir."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def describe(strategy: tf.distribute.Strategy) -> str:
    """One line for the log: the strategy's class and the devices its replicas run on."""
    try:
        devices = tuple(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy has no device list
        devices = ("the default device",)
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s) on {', '.join(devices)}"
