"""The HTML page of `tfclone-score`: the summary per system on top, then one row per item with audio
players (reference, truth, output), the log-mel spectrogram PNG, the ASR hypothesis with its errors marked
(substituted and inserted words in red, deleted reference words struck through) and the figures. Every file
the page uses is copied under the report folder, so the folder can be moved or served as is."""
from __future__ import annotations

import hashlib
import html
import os
from typing import Dict, List

from tfclone.eval.judges import SPEAKER_JUDGES
from tfclone.fileio import atomic_write_text

_JUDGE_NAMES = {"resemblyzer": "Resemblyzer", "campplus": "CAM++"}  # the speaker judges, as the page names them
_FIGURE_NAMES = {"wer": "WER", "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "dnsmos_ovrl": "DNSMOS OVRL",
                 **{f"similarity_{j}": f"cos ({_JUDGE_NAMES[j]})" for j in SPEAKER_JUDGES},
                 "pesq": "PESQ-wb", "stoi": "STOI", "mcd": "MCD dB", "seconds": "seconds"}
_STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:14px}th{background:#f3f3f3}
.err{color:#c00;font-weight:bold}.del{color:#c00;text-decoration:line-through}img{max-width:420px}
audio{width:220px}.num{text-align:right;font-variant-numeric:tabular-nums}"""


def _asset(path: str, out_dir: str, kind: str) -> str:
    """Copies a file into out_dir/<kind>/ under a name unique to its path; returns the relative path."""
    import shutil

    digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:8]
    name = f"{digest}-{os.path.basename(path)}"
    target = os.path.join(out_dir, kind, name)
    if not os.path.isfile(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)
    return f"{kind}/{name}"


def spectrogram_png(audio_path: str, out_dir: str) -> str:
    """out_dir/spectrograms/<name>.png of the log-mel spectrogram (80 bands, 16 kHz analysis)."""
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from tfclone.audio import io

    digest = hashlib.sha1(os.path.abspath(audio_path).encode()).hexdigest()[:8]
    rel = f"spectrograms/{digest}-{os.path.splitext(os.path.basename(audio_path))[0]}.png"
    target = os.path.join(out_dir, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    wav = io.load(audio_path, 16000)
    mel = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=1024, hop_length=200, n_mels=80, power=1.0)
    fig, ax = plt.subplots(figsize=(6, 2.2), dpi=80)
    ax.imshow(np.log(np.maximum(mel, 1e-5)), origin="lower", aspect="auto", cmap="magma")
    ax.set_xlabel("frame (12.5 ms)")
    ax.set_ylabel("mel band")
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)
    return rel


def marked_hypothesis(alignment) -> str:
    out = []
    for op, ref_words, hyp_words in alignment:
        if op == "equal":
            out.append(html.escape(" ".join(hyp_words)))
        elif op == "delete":
            out.append(f'<span class="del">{html.escape(" ".join(ref_words))}</span>')
        else:
            title = html.escape(" ".join(ref_words)) if op == "substitute" else "inserted"
            out.append(f'<span class="err" title="{title}">{html.escape(" ".join(hyp_words))}</span>')
    return " ".join(out)


def _fmt(value) -> str:
    return "" if value is None else (f"{value:.3f}" if isinstance(value, float) else html.escape(str(value)))


def _player(rel: str) -> str:
    return f'<audio controls preload="none" src="{html.escape(rel)}"></audio>'


def write_report(rows: List[Dict], summary: Dict, out_dir: str) -> str:
    """Writes out_dir/index.html; returns its path."""
    figures = [k for k in _FIGURE_NAMES if any(r.get(k) is not None for r in rows)]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"><title>tfclone-score</title>',
             f"<style>{_STYLE}</style></head><body>", "<h1>tfclone-score</h1>", "<h2>Summary (means)</h2>",
             "<table><tr><th>system</th><th>items</th>"
             + "".join(f"<th>{_FIGURE_NAMES[k]}</th>" for k in figures)
             + "".join(f"<th>SV-EER / nearest own ref. ({_JUDGE_NAMES[j]})</th>" for j in SPEAKER_JUDGES) + "</tr>"]
    for system, entry in summary["systems"].items():
        cells = "".join(f'<td class="num">{_fmt(entry["figures"].get(k, {}).get("mean"))}</td>' for k in figures)
        eer_cells = ""
        for judge in SPEAKER_JUDGES:
            eer = entry.get(f"sv_eer_{judge}")
            eer_cells += f'<td>{eer["eer"]:.3f} / {eer["nearest_own_reference"]:.2f}</td>' if eer else "<td></td>"
        parts.append(f"<tr><td>{html.escape(system)}</td><td class=\"num\">{entry['items']}</td>{cells}"
                     f"{eer_cells}</tr>")
    parts.append("</table><h2>Judges</h2><ul>")
    parts += [f"<li>{html.escape(j)}: {html.escape(s)}</li>" for j, s in summary["judges"].items()]
    parts.append("</ul>")
    if summary["failed"]:
        parts.append("<h2>Failed items</h2><ul>")
        parts += [f"<li>{html.escape(f['audio'])}: {html.escape(f['error'])}</li>" for f in summary["failed"]]
        parts.append("</ul>")
    parts.append("<h2>Items</h2><table><tr><th>system / item</th><th>reference</th><th>truth</th><th>output</th>"
                 "<th>spectrogram</th><th>text / ASR hypothesis</th>"
                 + "".join(f"<th>{_FIGURE_NAMES[k]}</th>" for k in figures) + "</tr>")
    for r in rows:
        ref = _player(_asset(r["reference"], out_dir, "audio")) if r.get("reference") else ""
        truth = _player(_asset(r["truth"], out_dir, "audio")) if r.get("truth") else ""
        output = _player(_asset(r["audio"], out_dir, "audio"))
        png = spectrogram_png(r["audio"], out_dir)
        text = html.escape(r.get("text") or "")
        if r.get("word_alignment") is not None:
            text += f"<br><i>heard:</i> {marked_hypothesis(r['word_alignment'])}"
        cells = "".join(f'<td class="num">{_fmt(r.get(k))}</td>' for k in figures)
        parts.append(f"<tr><td>{html.escape(r['system'])}<br><small>{html.escape(r['name'])}</small></td>"
                     f"<td>{ref}</td><td>{truth}</td><td>{output}</td>"
                     f'<td><img alt="log-mel spectrogram" src="{html.escape(png)}"></td><td>{text}</td>{cells}</tr>')
    parts.append("</table></body></html>")
    path = os.path.join(out_dir, "index.html")
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path
