"""tfclone-embed: the speaker embedding of every preprocessed utterance, from an exported speaker encoder,
stored beside the shards for synthesizer training (SV2TTS order: encoder first).

    tfclone-embed --data_dir data/local_shards --encoder exported/speaker_encoder/1
"""
import json

from absl import app, flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", None, "tfclone-preprocess output folder.")
flags.DEFINE_string("encoder", None, "An exported speaker encoder: exported/speaker_encoder/<version>.")
flags.DEFINE_integer("batch_size", 16, "Utterances per encoder call.")
flags.mark_flags_as_required(["data_dir", "encoder"])


def main(argv):
    del argv
    from tfclone.data.embeddings import compute_embeddings

    try:
        print(json.dumps(compute_embeddings(FLAGS.data_dir, FLAGS.encoder, FLAGS.batch_size), indent=1))
    except (ValueError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
