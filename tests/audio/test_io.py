import os

import numpy as np
import pytest
import soundfile as sf

from tfclone.audio import AudioError, load, save
from tfclone.audio.synthetic import speech_like


def stereo(rate, seconds=1.0):
    left = speech_like(seconds, rate, seed=1)
    return np.stack([left, 0.5 * left], axis=1)  # [S, 2]; the mono mix is 0.75 * left


@pytest.mark.parametrize("ext,subtype", [(".wav", "PCM_16"), (".wav", "FLOAT"), (".flac", "PCM_24"),
                                         (".ogg", "VORBIS")])
def test_load_mixes_to_mono_and_resamples(tmp_path, ext, subtype):
    path = str(tmp_path / f"clip{ext}")
    data = stereo(44100)
    sf.write(path, data, 44100, subtype=subtype)
    wav = load(path, 16000)
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert abs(len(wav) - 16000) <= 1
    reference = load(str(_write(tmp_path, 0.75 * data[:, 0], 44100)), 16000)
    n = min(len(wav), len(reference))
    # Lossless formats match the mono mix to the format's precision; Vorbis within a correlation of 0.99.
    if subtype == "VORBIS":
        assert np.corrcoef(wav[:n], reference[:n])[0, 1] > 0.99
    else:
        assert np.max(np.abs(wav[:n] - reference[:n])) < 1e-3


def _write(tmp_path, wav, rate):
    path = tmp_path / "reference.wav"
    sf.write(str(path), wav, rate, subtype="FLOAT")
    return path


def test_mp3_when_libsndfile_has_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip(f"this libsndfile ({sf.__libsndfile_version__}) has no MP3 support")
    path = str(tmp_path / "clip.mp3")
    sf.write(path, speech_like(1.0, 16000, seed=2), 16000, format="MP3")
    wav = load(path, 16000)
    assert abs(len(wav) - 16000) < 2000 and np.max(np.abs(wav)) > 0.1


def test_int_and_float_inputs_agree(tmp_path):
    wav = speech_like(0.5, 16000, seed=3)
    sf.write(str(tmp_path / "i.wav"), (wav * 32767).astype(np.int16), 16000, subtype="PCM_16")
    sf.write(str(tmp_path / "f.wav"), wav, 16000, subtype="FLOAT")
    np.testing.assert_allclose(load(str(tmp_path / "i.wav")), load(str(tmp_path / "f.wav")), atol=1e-4)


def test_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match=f"{missing}: no such file"):
        load(missing)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match="garbage.wav: unreadable audio"):
        load(str(garbage))
    empty = str(tmp_path / "empty.wav")
    sf.write(empty, np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: empty audio"):
        load(empty)
    silent = str(tmp_path / "silent.wav")
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioError, match="silent.wav: audio is silent"):
        load(silent)
    nan = str(tmp_path / "nan.wav")
    bad = speech_like(0.5, seed=1)
    bad[100] = np.nan
    sf.write(nan, bad, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav: audio contains NaN or Inf"):
        load(nan)
    short = str(tmp_path / "short.wav")
    sf.write(short, speech_like(0.3, seed=1), 16000)
    with pytest.raises(AudioError, match=r"short.wav: audio is too short \(0.30 s, need at least 1 s\)"):
        load(short, min_seconds=1.0)


def test_save_is_atomic_and_leaves_nothing_on_failure(tmp_path):
    wav = speech_like(0.5, seed=4)
    out = tmp_path / "sub" / "out.flac"
    save(str(out), wav, 16000)
    assert os.listdir(out.parent) == ["out.flac"]
    np.testing.assert_allclose(load(str(out)), wav, atol=1e-4)
    bad = wav.copy()
    bad[3] = np.inf
    target = tmp_path / "bad.wav"
    with pytest.raises(AudioError, match="bad.wav: refusing to write audio with NaN or Inf"):
        save(str(target), bad, 16000)
    with pytest.raises(AudioError, match="unknown audio format"):
        save(str(tmp_path / "x.xyz"), wav, 16000)
    # A failure inside the writer (an impossible subtype) leaves no temporary file behind.
    with pytest.raises(Exception):
        save(str(tmp_path / "y.ogg"), wav, 16000, subtype="PCM_16")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]
