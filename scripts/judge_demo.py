"""Judge a demo synthesizer as issue 17's table does, in one command: its weights (a training run's latest
checkpoint, or an .npz) assembled into a models folder beside the shipped encoder, HiFi-GAN and WaveNet, then
`tfclone-score clone` on the held-out voices (2 sentences each) and on examples/ (6 sentences each), then the
figures of both reports printed side by side, with the WER over the clones of every voice the synthesizer never
heard (the held-out voices and the examples/ voices not in --seen_prefixes):

    python scripts/judge_demo.py --work ~/tfclone-work --tag r2b-800 --run ~/tfclone-work/runs/synth_r2b
    python scripts/judge_demo.py --work ~/tfclone-work --tag shipped --weights pretrained/demo/synthesizer.npz
    python scripts/judge_demo.py --summarize WORK/judge/shipped WORK/judge/r2b-800     # print only

Everything goes under WORK/judge/TAG/ (pretrained/ of links + the synthesizer's npz, models/, heldout/,
examples/); the held-out references are WORK/eval/heldout, which scripts/demo_training.sh makes. Compare two
models only on the same references: a fresh work folder draws new ones.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from tfclone.eval import judges  # noqa: E402  (pylint: disable=wrong-import-position)
REPORTS = (("heldout", 2), ("examples", 6))
# (label, summary.json path within a system entry): issue 17's figures
ROWS = (("WER", ("figures", "wer", "mean")),
        ("DNSMOS OVRL", ("figures", "dnsmos_ovrl", "mean")),
        ("similarity Resemblyzer", ("figures", "similarity_resemblyzer", "mean")),
        ("similarity CAM++", ("figures", "similarity_campplus", "mean")),
        ("nearest own Resemblyzer", ("sv_eer_resemblyzer", "nearest_own_reference")),
        ("nearest own CAM++", ("sv_eer_campplus", "nearest_own_reference")),
        ("SV-EER Resemblyzer", ("sv_eer_resemblyzer", "eer")),
        ("SV-EER CAM++", ("sv_eer_campplus", "eer")))


def _dig(entry: Dict, path: Sequence[str]) -> Optional[float]:
    for key in path:
        if not isinstance(entry, dict) or key not in entry:
            return None
        entry = entry[key]
    return entry


def _clone_system(summary: Dict, report: str) -> Dict:
    clones = [s for s in summary["systems"] if s.startswith("clone")]
    if len(clones) != 1:
        raise ValueError(f"{report}: expected one clone system in summary.json, found {clones or 'none'}")
    return summary["systems"][clones[0]]


def unseen_wer(report_dirs: Sequence[str], seen_prefixes: Sequence[str]) -> Dict:
    """Mean WER over the clone rows of every report whose voice name (the part of the row's name before '/')
    starts with none of seen_prefixes."""
    values = []
    for report in report_dirs:
        with open(os.path.join(report, "scores.jsonl"), encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for row in rows:
            voice = row.get("name", "").split("/")[0]
            if row["system"].startswith("clone") and row.get("wer") is not None \
                    and not voice.startswith(tuple(seen_prefixes)):
                values.append(row["wer"])
    return {"mean": sum(values) / len(values) if values else None, "n": len(values)}


def summarize(judge_dirs: Sequence[str], seen_prefixes: Sequence[str] = ("asterisk",)) -> str:
    """Issue 17's figures of each judged model (a WORK/judge/TAG folder), one column per model and report."""
    header, columns = ["figure"], []
    for judge in judge_dirs:
        tag = os.path.basename(os.path.normpath(judge))
        for report, _ in REPORTS:
            path = os.path.join(judge, report, "summary.json")
            if not os.path.isfile(path):
                raise ValueError(f"{path}: missing (was {tag} judged?)")
            with open(path, encoding="utf-8") as f:
                entry = _clone_system(json.load(f), path)
            header.append(f"{tag} {report} ({entry['items']})")
            columns.append(entry)
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, path in ROWS:
        cells = []
        for entry in columns:
            value = _dig(entry, path)
            cells.append("-" if value is None else (f"{value:.1%}" if path[0].startswith("sv_eer") else f"{value:.3f}"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for judge in judge_dirs:
        wer = unseen_wer([os.path.join(judge, r) for r, _ in REPORTS], seen_prefixes)
        mean = "-" if wer["mean"] is None else f"{wer['mean']:.3f}"
        lines.append(f"{os.path.basename(os.path.normpath(judge))}: WER over the {wer['n']} clones of unseen voices {mean}")
    return "\n".join(lines)


def _run(command: List[str]) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def judge(work: str, tag: str, run: Optional[str], weights: Optional[str], configs: str) -> str:
    bin_dir = os.path.dirname(sys.executable)
    heldout = os.path.join(work, "eval", "heldout")
    if not os.path.isdir(heldout):
        raise ValueError(f"{heldout}: no held-out reference clips (scripts/demo_training.sh makes them)")
    out = os.path.join(work, "judge", tag)
    pretrained = os.path.join(out, "pretrained")
    os.makedirs(os.path.join(pretrained, "demo"), exist_ok=True)
    source = os.path.join(REPO, "pretrained")
    for name in os.listdir(source):  # the wheels, linked
        if name.endswith((".whl", ".tgz")) and not os.path.exists(os.path.join(pretrained, name)):
            os.symlink(os.path.join(source, name), os.path.join(pretrained, name))
    for name in os.listdir(os.path.join(source, "demo")):
        if name != "synthesizer.npz":
            shutil.copy(os.path.join(source, "demo", name), os.path.join(pretrained, "demo", name))
    npz = os.path.join(pretrained, "demo", "synthesizer.npz")
    if run:
        _run([os.path.join(bin_dir, "tfclone-export"), "--model", "synthesizer", "--model_dir", run,
              "--weights_out", npz])
    else:
        shutil.copy(weights, npz)
    models = os.path.join(out, "models")
    _run([os.path.join(bin_dir, "tfclone-assemble"), "--pretrained_dir", pretrained, "--out_dir", models,
          "--configs_dir", configs, "--force"])
    for report, sentences in REPORTS:
        voices = heldout if report == "heldout" else os.path.join(REPO, "examples")
        _run([os.path.join(bin_dir, "tfclone-score"), "clone", "--models", models, "--voices", voices,
              "--sentences", os.path.join(REPO, "examples", "sentences.txt"), "--max_sentences", str(sentences),
              "--clone_vocoder", "hifigan",
              "--resemblyzer", os.path.join(pretrained, os.path.basename(judges.RESEMBLYZER_WHEEL)),
              "--campplus", os.path.join(pretrained, os.path.basename(judges.CAMPPLUS_WHEEL)),
              "--out", os.path.join(out, report)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", help="the work folder of scripts/demo_training.sh")
    parser.add_argument("--tag", help="a name for this model: WORK/judge/TAG")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--run", help="a synthesizer model_dir (its latest checkpoint)")
    source.add_argument("--weights", help="a synthesizer .npz")
    parser.add_argument("--configs", default=os.path.join(REPO, "configs"), help="configs folder for tfclone-assemble")
    parser.add_argument("--seen_prefixes", default="asterisk", help="comma-separated: examples/ voices trained on")
    parser.add_argument("--summarize", nargs="+", metavar="JUDGE_DIR", help="only print these judged models")
    args = parser.parse_args()
    seen = [p for p in args.seen_prefixes.split(",") if p]
    try:
        if args.summarize:
            print(summarize(args.summarize, seen))
            return
        if not (args.work and args.tag and (args.run or args.weights)):
            parser.error("--work, --tag and one of --run / --weights are needed (or --summarize)")
        out = judge(os.path.expanduser(args.work), args.tag, args.run, args.weights, args.configs)
        print(summarize([out], seen))
    except ValueError as error:
        sys.exit(f"judge_demo: {error}")


if __name__ == "__main__":
    main()
