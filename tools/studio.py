"""tfclone-studio: the voice studio, a web page and an OpenAI-compatible speech API over the cloning runner.

    tfclone-studio --models exported                  # then open http://127.0.0.1:8000/
    tfclone-studio --models exported --server localhost:8500 --protocol grpc   # TF Serving behind it
    curl -s http://127.0.0.1:8000/v1/audio/speech -H 'Content-Type: application/json' \
         -d '{"model": "tfclone", "input": "Hello there.", "voice": "me", "response_format": "wav"}' > hello.wav

The voice library lives in <data_dir>/voices.sqlite. The OpenAPI document is at /openapi.json, the API's
own page at /docs. With --api_key (or TFCLONE_STUDIO_API_KEY) every /v1 call needs Authorization: Bearer.
"""
import os
import sys

from absl import flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("models", "pretrained/models", "The models folder: the shipped one (scripts/setup.sh assembles "
                    "it) or an exported/ folder (SavedModels; with --server, their assets).")
flags.DEFINE_string("server", None, "HOST:PORT of tensorflow_model_server serving the exports.")
flags.DEFINE_enum("protocol", "grpc", ["grpc", "rest"], "With --server: TF Serving's gRPC or REST API.")
flags.DEFINE_enum("vocoder", None, ["hifigan", "vocoder", "griffin_lim"],
                  "The default vocoder (a request may name another). Default: the best one exported.")
flags.DEFINE_string("host", "127.0.0.1", "Address to bind (0.0.0.0 opens the studio to the network).")
flags.DEFINE_integer("port", 8000, "Port to listen on.")
flags.DEFINE_string("data_dir", "studio", "Folder of the voice library (voices.sqlite).")
flags.DEFINE_string("api_key", None, "Require Authorization: Bearer <key> on every API call "
                    "(default: the TFCLONE_STUDIO_API_KEY environment variable, if set).")
flags.DEFINE_integer("max_requests", 16, "Requests in progress at once; past it the API answers 503.")
flags.DEFINE_integer("batch", 8, "Sentences per model call (shared among concurrent requests).")


def main(argv):
    del argv
    import uvicorn

    from tfclone.inference import CloneError, Cloner
    from tfclone.studio.app import create_app
    from tfclone.studio.library import VoiceLibrary

    try:
        cloner = Cloner(FLAGS.models, FLAGS.server, FLAGS.protocol, FLAGS.vocoder, max_batch=FLAGS.batch)
    except CloneError as e:
        print(f"tfclone-studio: error: {e}", file=sys.stderr)
        return 2
    library = VoiceLibrary(os.path.join(FLAGS.data_dir, "voices.sqlite"))
    app = create_app(cloner, library, api_key=FLAGS.api_key or os.environ.get("TFCLONE_STUDIO_API_KEY") or None,
                     max_jobs=FLAGS.max_requests, max_batch=FLAGS.batch)
    print(f"tfclone studio: http://{FLAGS.host}:{FLAGS.port}/ ({cloner.backend.describe()}, vocoders "
          f"{', '.join(cloner.vocoders())}; library {library.path})", flush=True)
    uvicorn.run(app, host=FLAGS.host, port=FLAGS.port, log_level="warning")
    return 0


def run():
    run_tool(main, __name__, xla_cache=True)


if __name__ == "__main__":
    run()
