"""Helpers of the inference tests (the tiny exported models are session fixtures in tests/conftest.py)."""
import numpy as np


def padded(rows):
    lengths = np.array([len(r) for r in rows], np.int32)
    out = np.zeros([len(rows), lengths.max()], np.asarray(rows[0]).dtype)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out, lengths
