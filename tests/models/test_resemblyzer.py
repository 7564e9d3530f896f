"""The imported Resemblyzer encoder, exported and run without tfclone, against a NumPy re-implementation of
Resemblyzer 0.1.4's own embed_utterance (preprocess_wav's volume normalization, librosa power mel, partial
slices, the PyTorch LSTM equations, ReLU, L2 norms, mean)."""
import subprocess
import sys

import librosa
import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio.synthetic import speech_like
from tfclone.eval import judges
from tfclone.export.speaker_encoder import export_speaker_encoder
from tfclone.models.resemblyzer import read_resemblyzer_state, resemblyzer_config

from tests.audio.test_vad import numpy_trim
from tests.export.helpers import padded_batch, run_saved_model
from tests.models.test_speaker_encoder import resemblyzer_slices


@pytest.fixture(scope="module")
def wheel(repo_root):
    path = repo_root / judges.RESEMBLYZER_WHEEL
    assert path.exists(), f"{path} missing: scripts/setup.sh downloads it (pip download --no-deps resemblyzer==0.1.4)"
    return path


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def torch_lstm_last_hidden(x, state, layers=3):
    """nn.LSTM(batch_first) forward, float64: returns the last layer's final hidden state."""
    for k in range(layers):
        w_ih, w_hh = state[f"lstm.weight_ih_l{k}"].astype(np.float64), state[f"lstm.weight_hh_l{k}"].astype(np.float64)
        b = (state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]).astype(np.float64)
        hidden = w_hh.shape[1]
        h, c, outputs = np.zeros(hidden), np.zeros(hidden), []
        for t in range(x.shape[0]):
            i, f, g, o = np.split(w_ih @ x[t] + w_hh @ h + b, 4)
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outputs.append(h)
        x = np.stack(outputs)
    return h


def resemblyzer_embed_utterance(wav, state, trim=None):
    """`trim`: the long-silence trimming of preprocess_wav (wav -> kept samples), after the volume."""
    change = -30 - 10 * np.log10(np.mean(wav.astype(np.float64) ** 2))
    if change > 0:  # normalize_volume(wav, -30, increase_only=True)
        wav = wav * 10 ** (change / 20)
    if trim is not None:
        wav = trim(wav.astype(np.float32))
    starts = resemblyzer_slices(len(wav))
    stop = (starts[-1] + 160) * 160
    if stop >= len(wav):
        wav = np.pad(wav, (0, stop - len(wav)), "constant")
    mel = librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40).astype(np.float32).T
    partials = []
    for s in starts:
        h = torch_lstm_last_hidden(mel[s:s + 160].astype(np.float64), state)
        e = np.maximum(state["linear.weight"] @ h + state["linear.bias"], 0)
        partials.append(e / np.linalg.norm(e))
    raw = np.mean(partials, axis=0)
    return raw / np.linalg.norm(raw)


def test_imported_encoder_gives_resemblyzers_embeddings(wheel, tmp_path, repo_root):
    model_dir = tmp_path / "resemblyzer"
    result = subprocess.run([sys.executable, "-m", "tools.import_resemblyzer", f"--weights={wheel}",
                             f"--model_dir={model_dir}"], capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    export_dir = export_speaker_encoder(resemblyzer_config(), str(model_dir), str(tmp_path / "exported"))
    pause = np.random.default_rng(0).normal(0, 1e-4, 16000).astype(np.float32)
    wavs = [speech_like(2.9, f0=110, seed=1), speech_like(1.3, f0=210, formant_shift=1.2, seed=2) * 0.01,
            np.concatenate([speech_like(2.0, f0=150, seed=3), pause, speech_like(2.4, f0=150, seed=4)])]
    # the second is quiet: volume normalization raises it; the third's pause is trimmed
    audio, lengths = padded_batch(wavs)
    served = run_saved_model(export_dir, {"audio": audio, "audio_length": lengths}, tmp_path)["embedding"]
    state = read_resemblyzer_state(str(wheel))
    trim = lambda w: numpy_trim(w, 40.0, -55.0)  # noqa: E731  # the config's vad_threshold_db, vad_floor_dbfs
    reference = np.stack([resemblyzer_embed_utterance(w, state, trim) for w in wavs])
    # float32 TF features and LSTM against float64 NumPy: within 1e-4 per component.
    np.testing.assert_allclose(served, reference, atol=1e-4)
    assert np.all(served >= 0)  # ReLU before the norm, as Resemblyzer


def test_bad_weights_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="pip download"):
        read_resemblyzer_state(str(tmp_path / "missing.whl"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x80\x02K\x01.")  # a pickle of 1, not the torch magic number
    with pytest.raises(ValueError, match="not a legacy torch checkpoint"):
        read_resemblyzer_state(str(junk))


def webrtc_trim(wav):
    """Resemblyzer 0.1.4's trim_long_silences as written: webrtcvad (mode 3) on 30 ms windows of 16-bit PCM,
    moving average over 8 windows, rounded, dilated by 7."""
    import struct

    import webrtcvad
    from scipy.ndimage import binary_dilation

    wav = wav[:len(wav) - len(wav) % 480]
    pcm = struct.pack("%dh" % len(wav), *(np.round(wav * 32767)).astype(np.int16))
    vad = webrtcvad.Vad(mode=3)
    flags = np.array([vad.is_speech(pcm[i * 960:(i + 1) * 960], sample_rate=16000) for i in range(len(wav) // 480)])
    padded = np.concatenate((np.zeros(3), flags.astype(float), np.zeros(4)))
    ret = np.cumsum(padded)
    ret[8:] = ret[8:] - ret[:-8]
    mask = np.round(ret[7:] / 8).astype(bool)
    mask[:] = binary_dilation(mask, np.ones(7))
    return wav[np.repeat(mask, 480)]


def test_in_graph_trimming_closes_the_gap_to_resemblyzers_webrtcvad_on_real_clips(wheel, repo_root):
    """Real speech (the examples' three speakers) with pauses of room noise inserted before, inside and after:
    the encoder with its in-graph trimming against Resemblyzer's pipeline (webrtcvad trimming, then the same
    weights, equal to Resemblyzer within 1e-4 by the test above)."""
    import dataclasses

    from tfclone.audio import io
    from tfclone.models.resemblyzer import load_resemblyzer
    from tfclone.models.speaker_encoder import embed_utterances

    encoder, config = load_resemblyzer(str(wheel))
    untrimmed = dataclasses.replace(config.model, vad_trim=False)

    def embed(wavs, model):  # one traced call for the whole zero-padded batch (each row ends at its length)
        batch, lengths = padded_batch(wavs)
        return tf.function(lambda a, n: embed_utterances(encoder, a, n, config.audio, model))(batch, lengths).numpy()

    rng = np.random.default_rng(0)
    clips = []
    for name in ("arctic_awb_a0007", "arctic_slt_a0009", "asterisk_allison_vm-invalid-password"):
        speech = io.load(str(repo_root / "examples" / f"{name}.wav"), 16000)
        for _ in range(2):
            level = 10 ** (rng.uniform(-70, -55) / 20)
            gap = lambda seconds: rng.normal(0, level, int(seconds * 16000)).astype(np.float32)  # noqa: E731,B023
            half = len(speech) // 2
            wav = np.concatenate([gap(rng.uniform(0.5, 2)), speech[:half], gap(rng.uniform(1, 2.5)), speech[half:],
                                  gap(rng.uniform(0.5, 2))])
            change = -30 - 10 * np.log10(np.mean(wav ** 2))  # Resemblyzer's volume normalization comes first
            clips.append((wav * 10 ** (max(change, 0) / 20)).astype(np.float32))
    reference = embed([webrtc_trim(w) for w in clips], untrimmed)  # Resemblyzer's own preprocess_wav
    trimmed = np.sum(reference * embed(clips, config.model), axis=1)
    plain = np.sum(reference * embed(clips, untrimmed), axis=1)
    # Measured: without trimming mean 0.87 (min 0.75) on 16 such clips; with it 0.995 (min 0.975).
    assert trimmed.mean() >= 0.97 and trimmed.min() >= 0.95, trimmed
    assert plain.mean() < trimmed.mean() - 0.05, (plain, trimmed)
