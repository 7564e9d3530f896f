"""Where a synthesizer's words are lost: the same clips' sentences and voices through four paths, each vocoded by
the models folder's HiFi-GAN and transcribed by Whisper base (WER per clip, then the means):

    truth      the clip's own mel (the vocoder's and the judge's floor)
    teacher    the synthesizer teacher-forced on the clip's mel (what the training loss sees)
    free       free running, prenet dropout on (what tfclone-clone does)
    free_nodrop  free running without prenet dropout

    python benchmarks/teacher_vs_free.py --weights pretrained/demo/synthesizer.npz CLIP.wav [CLIP.wav ...]

Each clip needs its transcript beside it (CLIP.txt), as a corpus folder has. Session 24 ran it on 8 clips of
pool sentences (training voices): truth 0.01, teacher 0.06, free 0.11, against ~0.5 for the same weights on the
evaluation sentences: the loss is in words the training text never had, not in decoding (README, the demo
synthesizer's section).
"""
import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="wav clips at the config's rate, each with a .txt transcript")
    parser.add_argument("--weights", default=os.path.join(REPO, "pretrained", "demo", "synthesizer.npz"))
    parser.add_argument("--config", default=os.path.join(REPO, "configs", "synthesizer", "demo.yaml"))
    parser.add_argument("--models", default=os.path.join(REPO, "pretrained", "models"),
                        help="a models folder (its speaker encoder and HiFi-GAN are used)")
    args = parser.parse_args()

    import soundfile
    import tensorflow as tf

    from tfclone.audio import effects, features
    from tfclone.config import experiment_config
    from tfclone.data.preprocess import PreprocessOptions
    from tfclone.eval import asr
    from tfclone.inference import Cloner
    from tfclone.tasks import build_task
    from tfclone.training.weights import load_weights

    config = experiment_config("synthesizer", [args.config])
    model = build_task("synthesizer", config).build_model()
    load_weights(model, args.weights)
    cloner = Cloner(args.models)
    results = {"truth": [], "teacher": [], "free": [], "free_nodrop": []}
    for clip in args.clips:
        with open(os.path.splitext(clip)[0] + ".txt", encoding="utf-8") as f:
            text = f.read().strip()
        wav, rate = soundfile.read(clip, dtype="float32")
        if rate != config.audio.sample_rate:
            sys.exit(f"{clip}: {rate} Hz, the config's preset is {config.audio.sample_rate} Hz")
        # trimmed as tfclone-preprocess trims (tfclone/data/preprocess.py): its default top_db, frame and hop
        wav = effects.trim_silence(wav, PreprocessOptions.trim_top_db, frame_length=int(rate * 0.05),
                                   hop_length=int(rate * 0.0125))
        ids = [i for _, piece in cloner.sentences(text) for i in piece]
        inputs = {"token_ids": tf.constant([ids], tf.int32), "token_length": tf.constant([len(ids)], tf.int32),
                  "speaker_embedding": tf.constant(cloner.embed(clip)[None], tf.float32),
                  "mel": features.mel_spectrogram(tf.constant(wav), config.audio)[None]}
        mels = {"truth": inputs["mel"].numpy(), "teacher": model(inputs)["mel_after"].numpy()}
        for name, dropout in (("free", True), ("free_nodrop", False)):
            out = model.infer(inputs["token_ids"], inputs["token_length"], inputs["speaker_embedding"],
                              prenet_dropout=dropout)
            mels[name] = out["mel"].numpy()[:, :int(out["mel_length"][0])]
        for name, mel in mels.items():
            audio = cloner.vocode(mel, np.array([mel.shape[1]]), vocoder="hifigan")["audio"][0]
            results[name].append(asr.wer(text, asr.transcribe(audio, rate, "base")))
        print(os.path.basename(clip), {k: round(v[-1], 2) for k, v in results.items()}, flush=True)
    print("mean WER", {k: round(float(np.mean(v)), 3) for k, v in results.items()})


if __name__ == "__main__":
    main()
