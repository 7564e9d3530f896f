"""Figures people look at, as PNG bytes (for TensorBoard images and files in model_dir/plots)."""
from __future__ import annotations

import io
from typing import Optional, Sequence

import numpy as np


def _figure(width=5.0, height=4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.figure(figsize=(width, height), dpi=100)


def _png(plt, fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def matrix_png(matrix: np.ndarray, title: str, xlabel: str = "", ylabel: str = "") -> bytes:
    plt, fig = _figure()
    ax = fig.add_subplot(111)
    image = ax.imshow(matrix, aspect="auto", origin="lower", interpolation="nearest", cmap="viridis")
    fig.colorbar(image, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(plt, fig)


def pca_2d(embeddings: np.ndarray) -> np.ndarray:
    """[K, D] -> [K, 2]: the first two principal components (zeros when fewer than two points)."""
    if len(embeddings) < 2:
        return np.zeros([len(embeddings), 2], np.float32)
    centred = embeddings - embeddings.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:
        coords = np.pad(coords, [[0, 0], [0, 2 - coords.shape[1]]])
    return coords.astype(np.float32)


def projection_png(embeddings: np.ndarray, labels: Sequence, title: str) -> bytes:
    """2-D PCA of embeddings [K, D], one colour per label."""
    points = pca_2d(embeddings)
    plt, fig = _figure()
    ax = fig.add_subplot(111)
    labels = np.asarray(labels)
    for i, label in enumerate(sorted(set(labels.tolist()))):
        keep = labels == label
        ax.scatter(points[keep, 0], points[keep, 1], s=12, color=plt.cm.tab20(i % 20), label=str(label)[:18])
    if len(set(labels.tolist())) <= 12:
        ax.legend(fontsize=6)
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    return _png(plt, fig)


def curves_png(curves, title: str, xlabel: str, ylabel: str, log: Optional[bool] = False) -> bytes:
    """curves: [(x, y, label)]."""
    plt, fig = _figure()
    ax = fig.add_subplot(111)
    for x, y, label in curves:
        ax.plot(x, y, label=label)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _png(plt, fig)
