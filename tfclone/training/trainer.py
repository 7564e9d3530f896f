"""The Trainer: one loop for all three models, under any tf.distribute strategy.

Per step, on each replica: loss = (sum of per-example losses) / global batch, times the loss scale under
mixed precision; gradients are all-reduced once, unscaled, checked for NaN/Inf, clipped by their *global*
norm, and applied in cross-replica context only when finite on every replica (so replicas never disagree
about skipping). Keras 3's LossScaleOptimizer checks and clips per-replica gradients before they are
reduced, which is why loss scaling lives here (dynamic: halve on overflow, double after 2000 good steps).

Checkpoints (model, loss parameters, optimizer slots, step, loss scale and the input iterator's position)
go to model_dir every `checkpoint_every` steps and at the end; a model_dir resumes where it stopped.
SIGTERM (preemption) writes a checkpoint before the process exits. A non-finite step is never applied, so
it never reaches a checkpoint; with `nonfinite_loss: stop` training stops with a clear message instead.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import time
from typing import Dict, List, Optional

import numpy as np
import tensorflow as tf
from absl import logging
from tqdm import tqdm

from tfclone.fileio import atomic_write_text
from tfclone.layers.tracking import untracked_variables
from tfclone.tasks.base import Task, write_views
from tfclone.training import optimization
from tfclone.training.strategy import is_chief

GROWTH_STEPS = 2000  # good steps before the dynamic loss scale doubles
INITIAL_LOSS_SCALE = 2.0 ** 15


INPUT_RECORD = "input.json"  # model_dir/input.json: which data the checkpointed input position belongs to


def _input_identity(data_dir: str) -> Dict:
    """The data directory and every file in it with its size: cheap (no file is read) and changed by a
    rebuild or another corpus. Renaming or moving the directory counts as other data (its path is kept)."""
    root = os.path.abspath(data_dir) if data_dir else ""
    files = []
    if root and os.path.isdir(root):
        for folder, _, names in sorted(os.walk(root)):
            for name in sorted(names):
                path = os.path.join(folder, name)
                files.append(f"{os.path.relpath(path, root)}:{os.path.getsize(path)}")
    return {"data_dir": root, "files": hashlib.sha256("\n".join(files).encode()).hexdigest()}


class TrainingError(RuntimeError):
    """Training cannot go on (non-finite loss with nonfinite_loss: stop, an incompatible model_dir...)."""


class CorruptDataError(TrainingError):
    """A damaged shard stopped training (data.on_corrupt: fail); a checkpoint of the last completed step
    was written first. The message names the shard and the record."""


@dataclasses.dataclass
class TrainResult:
    step: int
    metrics: Dict[str, float]
    preempted: bool
    weights_digest: str
    skipped_steps: int
    data_problems: List[str] = dataclasses.field(default_factory=list)  # damaged shards skipped (on_corrupt: skip)
    out_of_time: bool = False  # stopped by train(max_seconds=...) before train.train_steps


def weights_digest(variables) -> str:
    """SHA-256 of all variable values in order: equal digests mean bit-identical weights."""
    h = hashlib.sha256()
    for v in variables:
        h.update(np.ascontiguousarray(v.numpy()).tobytes())
    return h.hexdigest()[:16]


def _changed_fields(previous, current) -> list:
    """The fields of a config section that differ ("name: old -> new"), leaving out the ones only generation
    reads (a section's GENERATION_FIELDS: sampling temperature, folding, XLA) or only the loss reads (its
    LOSS_FIELDS: loss weights), which do not shape the weights, so a run resumes after they change."""
    if previous is None or current is None or not dataclasses.is_dataclass(current):
        return [] if previous == current else ["section"]
    ignore = getattr(type(current), "GENERATION_FIELDS", ()) + getattr(type(current), "LOSS_FIELDS", ())
    return [f"{f.name}: {getattr(previous, f.name)!r} -> {getattr(current, f.name)!r}"
            for f in dataclasses.fields(current)
            if f.name not in ignore and getattr(previous, f.name) != getattr(current, f.name)]


class Trainer:
    def __init__(self, task: Task, model_dir: str, strategy: Optional[tf.distribute.Strategy] = None,
                 init_weights: Optional[str] = None, init_weights_partial: bool = False):
        """`init_weights`: a weight file (tfclone.training.weights) the model starts from when model_dir
        holds no checkpoint yet (a warm start, e.g. from the demo weights in the repository);
        `init_weights_partial`: take only the file's variables whose path and shape fit (a changed layer
        starts from its initial values), instead of requiring the same architecture."""
        self.task = task
        self.init_weights = init_weights
        self.init_weights_partial = init_weights_partial
        self.config = task.config
        self.train_config = task.config.train
        self.model_dir = model_dir
        self.strategy = strategy or tf.distribute.get_strategy()
        self.chief = is_chief(self.strategy)
        self._stop_signal = None
        self._check_model_dir()

    # ----------------------------------------------------------------------------------------- set-up
    def _check_model_dir(self) -> None:
        path = os.path.join(self.model_dir, "config.yaml")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                previous = type(self.config).from_yaml(f.read())
            for section in ("audio", "model"):
                changed = _changed_fields(getattr(previous, section, None), getattr(self.config, section, None))
                if changed:
                    raise TrainingError(f"{self.model_dir}: was trained with another `{section}` config "
                                        f"({', '.join(changed)}); resume with the same config or use a new "
                                        "model_dir")
        if self.chief:
            self.config.save(path)

    def _checkpoint_dir(self) -> str:
        if self.chief:
            return self.model_dir
        resolver = self.strategy.cluster_resolver
        return os.path.join(self.model_dir, ".tmp-workers", f"{resolver.task_type}-{resolver.task_id}")

    def _build(self, data_dir: str) -> None:
        import keras

        train = self.train_config
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_float16" if train.mixed_precision else "float32")
        try:
            self._build_variables(data_dir)
        finally:  # layers keep the policy they were built with; do not leak it to other models
            keras.mixed_precision.set_global_policy(policy)

    def _build_variables(self, data_dir: str) -> None:
        train = self.train_config
        with self.strategy.scope():
            self.model = self.task.build_model()
            missing = untracked_variables(self.model)
            if missing:
                raise TrainingError(f"model variables invisible to checkpoints (kept in a Python list?): {missing}")
            self.loss_layer = self.task.build_loss()
            self.variables = list(self.model.trainable_variables)
            if self.loss_layer is not None:
                self.variables += list(self.loss_layer.trainable_variables)
            self.optimizer = optimization.build_optimizer(train)
            # Keras 3: slots must exist before the first step, or they are created in replica context.
            self.optimizer.build(self.variables)
            on_first = dict(synchronization=tf.VariableSynchronization.ON_WRITE,
                            aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA, trainable=False)
            self.step = tf.Variable(0, dtype=tf.int64, name="step", **on_first)
            self.skipped = tf.Variable(0, dtype=tf.int64, name="skipped_steps", **on_first)
            self.loss_scale = tf.Variable(INITIAL_LOSS_SCALE if train.mixed_precision else 1.0, dtype=tf.float32,
                                          name="loss_scale", **on_first)
            self.good_steps = tf.Variable(0, dtype=tf.int64, name="good_steps", **on_first)
            self.ema_model, self.ema_pairs = None, []
            if self.task.ema_decay > 0:
                self.ema_model = self.task.build_model()
                self.ema_pairs = list(zip(self.ema_model.trainable_variables, self.model.trainable_variables))
        trackables = dict(model=self.model, optimizer=self.optimizer, step=self.step, skipped=self.skipped,
                          loss_scale=self.loss_scale, good_steps=self.good_steps)
        if self.loss_layer is not None:
            trackables["loss"] = self.loss_layer
        if self.ema_model is not None:
            trackables["ema_model"] = self.ema_model
        with_iterator = False
        self._input = _input_identity(data_dir)
        wants_iterator = train.checkpoint_input and self.task.input_checkpointable
        same_input = self._same_input(self._input)
        if wants_iterator and same_input:
            # The iterator must be in the checkpoint before it is restored. Iterators over several local
            # devices (MirroredStrategy) are not checkpointable; those runs reseed by the step instead.
            self.iterator = iter(self._distributed_inputs(data_dir, 0))
            with_iterator = isinstance(self.iterator, tf.__internal__.tracking.Trackable)
            if with_iterator:
                trackables["iterator"] = self.iterator
        self._use_checkpoint(trackables)
        self.restored_from = self.manager.restore_or_initialize()
        if self.restored_from is None and self.init_weights:
            from tfclone.training.weights import load_weights, load_weights_partial

            if self.init_weights_partial:
                count, left, fitted = load_weights_partial(self.model, self.init_weights)
                for variable_path, reason in left.items():
                    logging.info("initial value kept for %s: %s", variable_path, reason)
                for variable_path, shapes in fitted.items():
                    logging.info("fitted from another shape: %s: %s", variable_path, shapes)
            else:
                count = load_weights(self.model, self.init_weights)
            logging.info("started from %s (%d variables)", self.init_weights, count)
        if self.ema_model is not None and self.restored_from is None:
            for average, variable in self.ema_pairs:  # the average starts from the initial weights
                average.assign(variable)
        if not with_iterator:  # reseeded by the step it resumes at
            self.iterator = iter(self._distributed_inputs(data_dir, int(self.step.numpy())))
            if wants_iterator and not same_input and isinstance(self.iterator, tf.__internal__.tracking.Trackable):
                # the new data's position is checkpointed from now on
                self._use_checkpoint(dict(trackables, iterator=self.iterator))
        self._train_loop = self._make_train_loop()

    def _manager(self, checkpoint: tf.train.Checkpoint) -> tf.train.CheckpointManager:
        return tf.train.CheckpointManager(checkpoint, self._checkpoint_dir(),
                                          max_to_keep=self.train_config.max_checkpoints)

    def _use_checkpoint(self, trackables: Dict) -> None:
        self.checkpoint = tf.train.Checkpoint(**trackables)
        self.manager = self._manager(self.checkpoint)

    def _save(self, step: int, manager: Optional[tf.train.CheckpointManager] = None) -> None:
        """A checkpoint, then the record of the data its input position belongs to (a crash between the two
        leaves the record of the older data: the next resume reseeds rather than restore a stale position)."""
        (manager or self.manager).save(checkpoint_number=step)
        if self.chief:
            atomic_write_text(os.path.join(self.model_dir, INPUT_RECORD), json.dumps(self._input, indent=1) + "\n")

    def _same_input(self, identity: Dict) -> bool:
        """Whether a checkpoint to resume from was written reading this data. A checkpointed input position
        belongs to the data it was read from: restored over other shards, its buffers (a shuffle buffer of
        the old examples, whose indices then meet the new embedding table) would feed the old data for
        hundreds of steps. A run from before the record existed cannot tell, so it reseeds too."""
        if tf.train.latest_checkpoint(self.model_dir) is None:  # the chief's: every worker decides alike
            return True
        path = os.path.join(self.model_dir, INPUT_RECORD)
        try:
            with open(path, encoding="utf-8") as f:
                recorded = json.load(f)
        except (OSError, ValueError):
            recorded = None
        same = recorded == identity
        if not same:
            logging.warning("%s: the checkpoint was written reading %s, now %s: its input position is not "
                            "restored; the data is reshuffled by the step", self.model_dir,
                            (recorded or {}).get("data_dir", "unrecorded data"), identity["data_dir"])
        return same

    def _distributed_inputs(self, data_dir: str, seed_offset: int):
        return self.strategy.distribute_datasets_from_function(
            lambda ctx: self.task.build_inputs(data_dir, "train", ctx, seed_offset=seed_offset))

    # ------------------------------------------------------------------------------------------- steps
    def _replica_step(self, batch):
        train = self.train_config
        with tf.GradientTape() as tape:
            loss_sum, metrics = self.task.compute_loss(self.model, self.loss_layer, batch, training=True,
                                                       step=self.step)
            loss = tf.cast(loss_sum, tf.float32) / float(self.task.global_batch_size())
            scaled = loss * self.loss_scale
        grads = tape.gradient(scaled, self.variables)
        grads = [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, self.variables)]
        ctx = tf.distribute.get_replica_context()
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)  # the full gradient, on every replica
        grads = [tf.cast(g, tf.float32) / self.loss_scale for g in grads]
        finite = tf.logical_and(tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads]),
                                tf.math.is_finite(loss))
        norm = tf.linalg.global_norm(grads)
        if train.clip_norm > 0:
            grads, _ = tf.clip_by_global_norm(grads, train.clip_norm, use_norm=norm)
        ctx.merge_call(self._apply, args=(grads, finite))
        # tf.identity places each metric on this replica's device: a bare variable read has no device, and
        # MultiWorkerMirroredStrategy's all-reduce refuses values without one.
        metrics = {k: tf.identity(tf.cast(v, tf.float32)) for k, v in metrics.items()}
        metrics["grad_norm"] = norm
        metrics["nonfinite"] = 1.0 - tf.cast(finite, tf.float32)
        return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, metrics)

    def _apply(self, strategy, grads, finite):
        """Cross-replica: every replica holds the same reduced `grads` and `finite`, so take replica 0's."""
        finite = strategy.experimental_local_results(finite)[0]

        def apply():
            # Each mirrored variable is updated from its own device's copy of the reduced gradient, with
            # the optimizer's public update_step: optimizer.apply() here would either all-reduce again
            # (replica context) or need a merge_call that MultiWorkerMirroredStrategy cannot nest.
            learning_rate = self.optimizer.learning_rate
            for grad, variable in zip(grads, self.variables):
                strategy.extended.update(
                    variable.value, lambda var, g: self.optimizer.update_step(g, var, learning_rate),
                    args=(grad,), group=False)
            self.optimizer.iterations.assign_add(1)
            decay = self.task.ema_decay
            for average, variable in self.ema_pairs:  # after the update: the average of the new weights
                strategy.extended.update(average.value, lambda a, v: a.assign(decay * a + (1.0 - decay) * v),
                                         args=(variable.value,), group=False)
            self.good_steps.assign_add(1)
            if self.train_config.mixed_precision:
                grow = self.good_steps >= GROWTH_STEPS
                self.loss_scale.assign(tf.where(grow, self.loss_scale * 2.0, self.loss_scale))
                self.good_steps.assign(tf.where(grow, tf.zeros_like(self.good_steps), self.good_steps))
            return tf.constant(True)

        def skip():
            self.skipped.assign_add(1)
            self.good_steps.assign(0)
            if self.train_config.mixed_precision:
                self.loss_scale.assign(tf.maximum(self.loss_scale / 2.0, 1.0))
            return tf.constant(False)

        tf.cond(finite, apply, skip)

    def _make_train_loop(self):
        names = tuple(self.task.metric_names) + ("grad_norm", "nonfinite")

        @tf.function
        def train_loop(iterator, num_steps):
            totals = {k: tf.constant(0.0) for k in names}
            for _ in tf.range(num_steps):
                per_replica = self.strategy.run(self._replica_step, args=(next(iterator),))
                metrics = {k: self.strategy.experimental_local_results(v)[0] for k, v in per_replica.items()}
                totals = {k: totals[k] + metrics[k] for k in names}
                self.step.assign_add(1)
            count = tf.cast(num_steps, tf.float32)
            return {k: (totals[k] if k == "nonfinite" else totals[k] / count) for k in names}

        return train_loop

    # -------------------------------------------------------------------------------------------- loop
    def _on_signal(self, signum, frame):
        del frame
        self._stop_signal = signum
        logging.warning("signal %d received: checkpointing at the end of this chunk, then exiting", signum)

    def _next_boundary(self, step: int) -> int:
        train = self.train_config
        ends = [train.train_steps]
        for every in (train.summary_every, train.checkpoint_every, train.eval_every):
            ends.append((step // every + 1) * every)
        return min(ends)

    def train(self, data_dir: str, eval_data_dir: Optional[str] = None,
              max_seconds: Optional[float] = None) -> TrainResult:
        """Trains to train.train_steps, or, with `max_seconds`, until that much time has passed (counted from
        this call, set-up included): it stops at the first summary boundary after it, checkpoints there and
        writes the end-of-training summaries, so a later call (with a new budget) continues from it."""
        began_training = time.perf_counter()
        self._build(data_dir)
        start = int(self.step.numpy())
        if self.restored_from:
            logging.info("resumed from %s at step %d", self.restored_from, start)
        previous = signal.signal(signal.SIGTERM, self._on_signal)
        writer = tf.summary.create_file_writer(os.path.join(self.model_dir, "train")) if self.chief \
            else tf.summary.create_noop_writer()
        summary_batch = None
        metrics: Dict[str, float] = {}
        step = start
        train = self.train_config
        self._report_data(writer, data_dir, start)
        out_of_time = False
        try:
            with tqdm(total=train.train_steps, initial=start, desc=f"train {self.task.name}", unit="step",
                      disable=not self.chief) as progress:
                while step < train.train_steps and self._stop_signal is None and not out_of_time:
                    target = self._next_boundary(step)
                    began = time.perf_counter()
                    try:
                        result = self._train_loop(self.iterator, tf.constant(target - step, tf.int64))
                    except (tf.errors.DataLossError, tf.errors.NotFoundError) as e:
                        step = self._on_damaged_data(e, data_dir, writer)
                        progress.n = step
                        continue
                    metrics = {k: float(v) for k, v in result.items()}
                    elapsed = time.perf_counter() - began
                    if metrics["nonfinite"] > 0:
                        message = (f"non-finite loss or gradients in {int(metrics['nonfinite'])} step(s) before step "
                                   f"{target}; those steps were not applied")
                        if train.nonfinite_loss == "stop":
                            raise TrainingError(message + f"; stopping (train.nonfinite_loss=stop). The last "
                                                f"checkpoint in {self.model_dir} is intact.")
                        logging.warning(message)
                    rate = (target - step) / max(elapsed, 1e-9)
                    progress.update(target - step)
                    step = target
                    progress.set_postfix(loss=f"{metrics['loss']:.4f}")
                    logging.info("step %d: %s (%.2f steps/s)", step,
                                 ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()), rate)
                    with writer.as_default(step=step):
                        for name, value in metrics.items():
                            tf.summary.scalar(f"train/{name}", value)
                        tf.summary.scalar("train/learning_rate", float(self.optimizer.learning_rate))
                        tf.summary.scalar("train/steps_per_second", rate)
                        tf.summary.scalar("train/loss_scale", float(self.loss_scale.numpy()))
                    out_of_time = max_seconds is not None and time.perf_counter() - began_training >= max_seconds
                    last = step >= train.train_steps or out_of_time
                    if step % train.checkpoint_every == 0 or last:
                        self._save(step)
                    # Pictures, audio and evaluation are heavier (free-running inference): every eval_every.
                    if self.chief and (step % train.eval_every == 0 or last):
                        summary_batch = summary_batch if summary_batch is not None else self.task.summary_batch(data_dir)
                        self._write_images(writer, step, summary_batch)
                        if eval_data_dir:
                            self._evaluate(writer, step, eval_data_dir)
            if self._stop_signal is not None and self.manager.latest_checkpoint != os.path.join(
                    self._checkpoint_dir(), f"ckpt-{step}"):
                self._save(step)
                logging.warning("preempted at step %d: checkpoint written to %s", step, self.model_dir)
        finally:
            signal.signal(signal.SIGTERM, previous)
            writer.flush()
            if not self.chief:
                shutil.rmtree(self._checkpoint_dir(), ignore_errors=True)
        return TrainResult(step=step, metrics=metrics, preempted=self._stop_signal is not None,
                           weights_digest=weights_digest(self.variables), skipped_steps=int(self.skipped.numpy()),
                           data_problems=[p.line() for p in self._data_problems],
                           out_of_time=out_of_time and step < train.train_steps)

    # ------------------------------------------------------------------------------------ damaged data
    def _report_data(self, writer, data_dir: str, step: int) -> None:
        """Logs and records (TensorBoard data/skipped_*) the damaged shards the input leaves out."""
        from tfclone.data.pipeline import plan_shards

        self._data_problems = []
        if getattr(getattr(self.config, "data", None), "on_corrupt", "fail") != "skip":
            return
        plan = plan_shards(data_dir, "train", "skip")
        self._data_problems = list(plan.problems)
        for problem in plan.problems:
            logging.warning("skipping damaged data: %s (%d of %d records skipped)", problem.line(),
                            problem.skipped_records, problem.expected)
        with writer.as_default(step=step):
            tf.summary.scalar("data/skipped_shards", len(plan.problems))
            tf.summary.scalar("data/skipped_records", plan.skipped_records)

    def _save_after_error(self) -> int:
        """Checkpoints the last completed step (the input iterator too when it still can be saved)."""
        step = int(self.step.numpy())
        try:
            self._save(step)
        except (tf.errors.OpError, ValueError):
            self._save(step, self._manager(tf.train.Checkpoint(**self._trackables(iterator=False))))
        return step

    def _trackables(self, iterator: bool = True) -> Dict:
        children = self.checkpoint._trackable_children()  # pylint: disable=protected-access
        out = {k: v for k, v in children.items() if k not in ("save_counter", "iterator")}
        if iterator and "iterator" in children:
            out["iterator"] = self.iterator
        return out

    def _on_damaged_data(self, error, data_dir: str, writer) -> int:
        """A shard failed to read mid-run: checkpoint, name the shard; `fail` raises CorruptDataError,
        `skip` rebuilds the input without it and returns the step to go on from."""
        from tfclone.data import verify

        step = self._save_after_error()
        problems = verify.verify(data_dir, "train", progress=False)["problems"]
        if getattr(getattr(self.config, "data", None), "on_corrupt", "fail") == "fail":
            if problems:
                p = problems[0]
                what = f"corrupted record {p.first_bad}" if p.problem == "corrupted" else \
                    (f"{p.problem} at record {p.first_bad}" if p.first_bad is not None else p.problem)
                message = f"{p.shard}: {what}"
            else:
                message = f"{data_dir}: {error.message.splitlines()[0]}"
            raise CorruptDataError(f"{message} (run tfclone-preprocess --verify {data_dir}); checkpoint of step "
                                   f"{step} written to {self.model_dir}") from None
        logging.warning("damaged data met at step %d: %s; rebuilding the input without it", step,
                        error.message.splitlines()[0])
        self._report_data(writer, data_dir, step)
        self.iterator = iter(self._distributed_inputs(data_dir, step))
        self._use_checkpoint(self._trackables())
        self._train_loop = self._make_train_loop()
        return step

    # -------------------------------------------------------------------------------------- summaries
    def _write_images(self, writer, step: int, batch) -> None:
        if batch is None:
            return
        views = self.task.summarize(self.model, self.loss_layer, batch)
        with writer.as_default(step=step):
            for name, view in views.items():
                if isinstance(view, bytes):
                    tf.summary.image(name, tf.image.decode_png(view)[None], step=step)
                else:  # (waveform, sample_rate)
                    audio, rate = view
                    tf.summary.audio(name, np.asarray(audio, np.float32)[None, :, None], rate, step=step)
        write_views(views, os.path.join(self.model_dir, "plots"))

    def _evaluate(self, writer, step: int, data_dir: str) -> None:
        try:
            results = self.task.evaluate(self.model, data_dir)
        except ValueError as e:
            logging.warning("evaluation skipped at step %d: %s", step, e)
            return
        logging.info("eval at step %d: %s", step, results)
        with writer.as_default(step=step):
            for name, value in results.items():
                tf.summary.scalar(f"eval/{name}", value)

