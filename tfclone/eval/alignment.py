"""How well an attention alignment [steps, T] looks like reading the text: focus (mean over decoder steps
of the largest weight), monotonicity (fraction of steps whose focus does not move back), coverage
(fraction of tokens that were ever the focus), and whether the last step attends near the end."""
from __future__ import annotations

from typing import Dict

import numpy as np


def alignment_scores(alignment: np.ndarray, steps: int, tokens: int) -> Dict[str, float]:
    a = np.asarray(alignment)[:steps, :tokens]
    if a.size == 0:
        return {"focus": 0.0, "monotonic": 0.0, "coverage": 0.0, "diagonal": 0.0}
    focus_index = a.argmax(axis=1)
    moves = np.diff(focus_index)
    # Diagonal: the focus is within 20% of the text of the straight line from (0, 0) to (steps, tokens).
    expected = np.arange(len(focus_index)) * (tokens - 1) / max(1, len(focus_index) - 1)
    return {
        "focus": float(a.max(axis=1).mean()),
        "monotonic": float(np.mean(moves >= 0)) if len(moves) else 1.0,
        "coverage": float(len(set(focus_index.tolist())) / tokens),
        "diagonal": float(np.mean(np.abs(focus_index - expected) <= max(1.0, 0.2 * tokens))),
    }


def batch_alignment_scores(alignment, step_lengths, token_lengths) -> Dict[str, float]:
    rows = [alignment_scores(alignment[i], int(step_lengths[i]), int(token_lengths[i])) for i in range(len(alignment))]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
