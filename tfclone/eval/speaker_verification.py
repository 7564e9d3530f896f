"""Speaker verification metrics for the encoder: EER and minDCF over all trials of held-out utterances.

Every pair of distinct utterances is a trial (target if both are from one speaker); the score is the
cosine of their utterance embeddings (tfclone.models.speaker_encoder.embed_utterances).
"""
from __future__ import annotations

import glob
import os
from typing import Dict, Optional

import numpy as np
import tensorflow as tf

from tfclone.data import records
from tfclone.models.speaker_encoder import embed_utterances


def error_rates(scores: np.ndarray, labels: np.ndarray):
    """Thresholds (descending scores) -> (false_reject [K+1], false_accept [K+1], thresholds [K+1])."""
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order].astype(np.float64)
    targets, nontargets = labels.sum(), (1 - labels).sum()
    if targets == 0 or nontargets == 0:
        raise ValueError("verification trials need both target and non-target pairs")
    accepted_targets = np.concatenate([[0.0], np.cumsum(labels)])
    accepted_nontargets = np.concatenate([[0.0], np.cumsum(1 - labels)])
    false_reject = 1.0 - accepted_targets / targets
    false_accept = accepted_nontargets / nontargets
    thresholds = np.concatenate([[np.inf], scores])
    return false_reject, false_accept, thresholds


def equal_error_rate(scores: np.ndarray, labels: np.ndarray) -> float:
    """EER: where false rejection equals false acceptance (linear interpolation between thresholds)."""
    fr, fa, _ = error_rates(np.asarray(scores, np.float64), np.asarray(labels))
    diff = fr - fa  # decreasing from 1 to -1
    i = int(np.nonzero(diff <= 0)[0][0])
    if i == 0 or diff[i] == 0:
        return float(fr[i])
    t = diff[i - 1] / (diff[i - 1] - diff[i])
    return float(fr[i - 1] + t * (fr[i] - fr[i - 1]))


def min_dcf(scores: np.ndarray, labels: np.ndarray, p_target: float = 0.01, c_miss: float = 1.0,
            c_fa: float = 1.0) -> float:
    """Minimum normalized detection cost (NIST SRE): min over thresholds of
    (c_miss * P_miss * p_target + c_fa * P_fa * (1 - p_target)) / min(c_miss * p_target, c_fa * (1 - p_target))."""
    fr, fa, _ = error_rates(np.asarray(scores, np.float64), np.asarray(labels))
    cost = c_miss * fr * p_target + c_fa * fa * (1 - p_target)
    return float(cost.min() / min(c_miss * p_target, c_fa * (1 - p_target)))


def read_split(data_dir: str, split: str, max_utterances_per_speaker: Optional[int] = None):
    """All (audio, speaker) of a split, in file order; at most N utterances per speaker."""
    files = sorted(glob.glob(os.path.join(data_dir, "tfrecords", split, "*.tfrecord")))
    if not files:
        raise ValueError(f"{data_dir}: no {split} shards to evaluate on")
    audio, speakers, counts = [], [], {}
    for raw in tf.data.TFRecordDataset(files):
        e = records.parse_example(raw)
        speaker = e[records.SPEAKER].numpy().decode("utf-8")
        if max_utterances_per_speaker and counts.get(speaker, 0) >= max_utterances_per_speaker:
            continue
        counts[speaker] = counts.get(speaker, 0) + 1
        audio.append(e[records.AUDIO].numpy())
        speakers.append(speaker)
    return audio, speakers


def embed_all(encoder, audio_list, config, batch_size: int = 16) -> np.ndarray:
    """Utterance embeddings [K, D] of a list of waveforms, batched by similar length."""
    order = np.argsort([len(a) for a in audio_list])
    out = np.zeros([len(audio_list), config.model.embedding_dim], np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        lengths = np.array([len(audio_list[i]) for i in chunk], np.int32)
        batch = np.zeros([len(chunk), lengths.max()], np.float32)
        for row, i in enumerate(chunk):
            batch[row, :lengths[row]] = audio_list[i]
        out[chunk] = embed_utterances(encoder, batch, lengths, config.audio, config.model).numpy()
    return out


def evaluate_encoder(encoder, config, data_dir: str, split: str = "test",
                     max_utterances_per_speaker: Optional[int] = None) -> Dict:
    """EER and minDCF on a split's speakers (the test split holds speakers unseen in training)."""
    audio, speakers = read_split(data_dir, split, max_utterances_per_speaker)
    if len(set(speakers)) < 2:
        raise ValueError(f"{data_dir} ({split}): EER needs at least 2 speakers, found {len(set(speakers))}")
    embeddings = embed_all(encoder, audio, config)
    scores_matrix = embeddings @ embeddings.T
    labels_array = np.array(speakers)
    same = labels_array[:, None] == labels_array[None, :]
    upper = np.triu_indices(len(speakers), k=1)
    scores, trial_labels = scores_matrix[upper], same[upper]
    return {
        "metrics": {"eer": equal_error_rate(scores, trial_labels), "min_dcf": min_dcf(scores, trial_labels),
                    "speakers": float(len(set(speakers))), "utterances": float(len(speakers))},
        "embeddings": embeddings, "speakers": speakers, "scores": scores, "trial_labels": trial_labels,
    }


def write_plots(result: Dict, out_dir: str, title: str = "") -> Dict[str, str]:
    """DET/ROC curve and embedding projection PNGs; returns their paths."""
    from tfclone import plots
    from tfclone.fileio import atomic_write_bytes

    fr, fa, _ = error_rates(result["scores"], result["trial_labels"])
    eer = result["metrics"]["eer"]
    curve = plots.curves_png([(np.maximum(fa, 1e-4), np.maximum(fr, 1e-4), f"EER {eer:.2%}"),
                              ([1e-4, 1], [1e-4, 1], "FR = FA")],
                             f"DET {title}".strip(), "false acceptance rate", "false rejection rate", log=True)
    projection = plots.projection_png(result["embeddings"], result["speakers"], f"utterance embeddings {title}".strip())
    paths = {"det": os.path.join(out_dir, "det.png"), "projection": os.path.join(out_dir, "projection.png")}
    atomic_write_bytes(paths["det"], curve)
    atomic_write_bytes(paths["projection"], projection)
    return paths


def batch_eer(similarity: tf.Tensor) -> tf.Tensor:
    """Equal error rate of the batch's own similarity matrix S [N, M, N] (a cheap training-time signal)."""
    n = tf.shape(similarity)[0]
    scores = tf.reshape(similarity, [-1])
    labels = tf.reshape(tf.broadcast_to(tf.eye(n)[:, None, :], tf.shape(similarity)), [-1])
    order = tf.argsort(scores, direction="DESCENDING")
    labels = tf.gather(labels, order)
    positives = tf.reduce_sum(labels)
    negatives = tf.cast(tf.size(labels), tf.float32) - positives
    false_reject = 1.0 - tf.cumsum(labels) / positives
    false_accept = tf.cumsum(1.0 - labels) / negatives
    index = tf.argmin(tf.abs(false_reject - false_accept))
    return (tf.gather(false_reject, index) + tf.gather(false_accept, index)) / 2.0
