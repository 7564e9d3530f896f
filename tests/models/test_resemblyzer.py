"""The imported Resemblyzer encoder, exported and run without tfclone, against a NumPy re-implementation of
Resemblyzer 0.1.4's own embed_utterance (preprocess_wav's volume normalization, librosa power mel, partial
slices, the PyTorch LSTM equations, ReLU, L2 norms, mean)."""
import subprocess
import sys

import librosa
import numpy as np
import pytest

from tfclone.audio.synthetic import speech_like
from tfclone.export.speaker_encoder import export_speaker_encoder
from tfclone.models.resemblyzer import read_resemblyzer_state, resemblyzer_config

from tests.export.helpers import padded_batch, run_saved_model
from tests.models.test_speaker_encoder import resemblyzer_slices


@pytest.fixture(scope="module")
def wheel(repo_root):
    path = repo_root / "pretrained" / "Resemblyzer-0.1.4-py3-none-any.whl"
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


def resemblyzer_embed_utterance(wav, state):
    change = -30 - 10 * np.log10(np.mean(wav.astype(np.float64) ** 2))
    if change > 0:  # normalize_volume(wav, -30, increase_only=True)
        wav = wav * 10 ** (change / 20)
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
    wavs = [speech_like(2.9, f0=110, seed=1), speech_like(1.3, f0=210, formant_shift=1.2, seed=2) * 0.01,
            speech_like(4.4, f0=150, seed=3)]  # the second is quiet: volume normalization raises it
    audio, lengths = padded_batch(wavs)
    served = run_saved_model(export_dir, {"audio": audio, "audio_length": lengths}, tmp_path)["embedding"]
    state = read_resemblyzer_state(str(wheel))
    reference = np.stack([resemblyzer_embed_utterance(w, state) for w in wavs])
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
