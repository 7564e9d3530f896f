import json

import numpy as np
import pytest
import tensorflow as tf

from tfclone.audio import features
from tfclone.config import experiment_config
from tfclone.data import pipeline, records



def config(model, overrides=""):
    base = "data.deterministic=true" + ("," + overrides if overrides else "")
    return experiment_config(model, [f"configs/{model}/tiny.yaml"], base)


def test_speaker_encoder_batches_n_distinct_speakers_by_m(local_shards):
    cfg = config("speaker_encoder", "data.speakers_per_batch=4,data.utterances_per_speaker=3")
    for batch in pipeline.speaker_encoder_dataset(cfg, str(local_shards)).take(4):
        assert batch["mel"].shape == (12, 160, 40)
        ids = batch["speaker_id"].numpy().reshape(4, 3)
        assert (ids == ids[:, :1]).all() and len(set(ids[:, 0])) == 4
        assert np.all(np.isfinite(batch["mel"].numpy())) and batch["mel"].numpy().max() > 0


def test_speaker_encoder_crops_are_frames_of_the_utterance(local_shards):
    cfg = config("speaker_encoder", "data.speakers_per_batch=2,data.utterances_per_speaker=2")
    batch = next(iter(pipeline.speaker_encoder_dataset(cfg, str(local_shards))))
    # Each crop must equal the interior of some window of its utterance's full mel (edges differ by the
    # zero padding of a cropped signal): search every offset of every utterance of that speaker.
    speakers = {v["id"]: k for k, v in json.loads((local_shards / "speakers.json").read_text()).items()}
    crop = batch["mel"].numpy()[0]
    speaker = speakers[int(batch["speaker_id"][0])]
    best = np.inf
    for path in sorted((local_shards / "tfrecords" / "train").glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            e = records.parse_example(raw)
            if e[records.SPEAKER].numpy().decode() != speaker:
                continue
            full = features.mel_spectrogram(e[records.AUDIO], cfg.audio).numpy()
            for start in range(0, full.shape[0] - 160 + 1):
                best = min(best, np.max(np.abs(full[start + 3:start + 157] - crop[3:157])))
    assert best < 1e-3 * crop.max()


def test_synthesizer_batches_targets_and_embeddings(local_shards):
    cfg = config("synthesizer", "train.batch_size=4")
    table = np.load(records.embeddings_path(str(local_shards), "train"))
    for batch in pipeline.synthesizer_dataset(cfg, str(local_shards)).take(3):
        b = {k: v.numpy() for k, v in batch.items()}
        assert b["token_ids"].shape[0] == 4 and b["mel"].shape[2] == 80
        assert b["mel"].shape[:2] == b["stop_target"].shape
        for i in range(4):
            t, f = b["token_length"][i], b["mel_length"][i]
            assert b["token_ids"][i, t - 1] == 1 and (b["token_ids"][i, t:] == 0).all()  # eos, then pad
            assert b["stop_target"][i, :f - 1].sum() == 0 and (b["stop_target"][i, f - 1:] == 1).all()
            assert np.allclose(b["mel"][i, f:], np.log(1e-5))  # padded with silence
            assert np.min(np.linalg.norm(table - b["speaker_embedding"][i], axis=1)) < 1e-6
    with pytest.raises(pipeline.DataError, match="no speaker embeddings for the train split"):
        pipeline.load_embeddings(str(local_shards / "nowhere"), "train", 256)
    with pytest.raises(pipeline.DataError, match=r"expected \(\d+, 128\)"):
        pipeline.load_embeddings(str(local_shards), "train", 128)


def test_vocoder_segments_are_hop_aligned_with_their_mel(local_shards):
    cfg = config("vocoder", "train.batch_size=3,data.segment_frames=20")
    batch = next(iter(pipeline.vocoder_dataset(cfg, str(local_shards))))
    assert batch["audio"].shape == (3, 20 * 200) and batch["mel"].shape == (3, 20, 80)
    # The mel of the audio segment alone matches the sliced mel away from the segment's edges.
    own = features.mel_spectrogram(batch["audio"], cfg.audio).numpy()[:, :20]
    np.testing.assert_allclose(own[:, 3:-3], batch["mel"].numpy()[:, 3:-3], atol=2e-3)


@pytest.mark.parametrize("model", ["speaker_encoder", "synthesizer", "vocoder"])
def test_deterministic_option_repeats_exactly(local_shards, model):
    cfg = config(model, "data.speakers_per_batch=2,data.utterances_per_speaker=2,train.batch_size=2")
    make = getattr(pipeline, f"{model}_dataset")
    first = [b["mel"].numpy() for b in make(cfg, str(local_shards)).take(2)]
    second = [b["mel"].numpy() for b in make(cfg, str(local_shards)).take(2)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_input_context_shards_speakers_and_files(local_shards):
    cfg = config("speaker_encoder", "data.speakers_per_batch=4,data.utterances_per_speaker=2")
    seen = []
    for pipeline_id in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                         num_replicas_in_sync=2)
        ids = set()
        for batch in pipeline.speaker_encoder_dataset(cfg, str(local_shards), input_context=ctx).take(6):
            assert batch["mel"].shape[0] == 2 * 2  # per-replica: 2 speakers x 2 utterances
            ids |= set(batch["speaker_id"].numpy().tolist())
        seen.append(ids)
    assert seen[0] and seen[1] and not (seen[0] & seen[1])


def test_errors_name_the_problem(local_shards, tmp_path):
    cfg = config("speaker_encoder", "data.speakers_per_batch=40")
    with pytest.raises(pipeline.DataError, match="speakers_per_batch needs 40"):
        pipeline.speaker_encoder_dataset(cfg, str(local_shards))
    with pytest.raises(pipeline.DataError, match="run tfclone-preprocess"):
        pipeline.vocoder_dataset(config("vocoder"), str(tmp_path))
    with pytest.raises(pipeline.DataError, match="stored at 16000 Hz"):
        pipeline.vocoder_dataset(config("vocoder", "audio.sample_rate=22050,audio.fmax=7600"), str(local_shards))
