"""tfclone-serve: write the TF Serving config for exported/ and start tensorflow_model_server with it.

    tfclone-serve --export_dir exported [--grpc_port 8500 --rest_port 8501 --nobatching]

When tensorflow_model_server is not on PATH (it is not on PyPI and cannot be installed on our build
machines), prints exactly how to run it with the official Docker image or Google's apt repository, and
exits with status 3.
"""
import os
import shutil
import sys

from absl import flags

from tfclone.cli import run_tool

FLAGS = flags.FLAGS
flags.DEFINE_string("export_dir", "exported", "The folder tfclone-export wrote.")
flags.DEFINE_integer("grpc_port", 8500, "gRPC port.")
flags.DEFINE_integer("rest_port", 8501, "REST port.")
flags.DEFINE_boolean("batching", True, "Server-side batching with the batching parameters file.")
flags.DEFINE_integer("max_batch_size", 8, "Batching: largest batch.")
flags.DEFINE_integer("batch_timeout_micros", 20000, "Batching: how long to wait to fill a batch.")
flags.DEFINE_string("binary", "tensorflow_model_server", "The server binary (name on PATH or a path).")

NOT_INSTALLED = 3


def server_command(binary: str, paths, grpc_port: int, rest_port: int, batching: bool):
    command = [binary, f"--port={grpc_port}", f"--rest_api_port={rest_port}",
               f"--model_config_file={paths['models_config']}", "--enable_model_warmup=true",
               "--xla_cpu_compilation_enabled=true"]  # the vocoder's generation loop is XLA-compiled by default
    if batching:
        command += ["--enable_batching=true", f"--batching_parameters_file={paths['batching_parameters']}"]
    return command


def instructions(export_dir: str, docker_config: str, grpc_port: int, rest_port: int, batching: bool) -> str:
    folder = os.path.abspath(export_dir)
    batch = (" --enable_batching=true --batching_parameters_file=/models/batching_parameters.txt"
             if batching else "")
    return f"""tensorflow_model_server is not on PATH. Run TF Serving one of these ways:

  Docker (the official image; the exports are mounted at /models):
    docker run --rm -p {grpc_port}:8500 -p {rest_port}:8501 -v {folder}:/models tensorflow/serving \\
      --model_config_file=/models/{os.path.basename(docker_config)} --enable_model_warmup=true \\
      --xla_cpu_compilation_enabled=true{batch}

  Debian/Ubuntu (Google's apt repository for TF Serving):
    echo "deb [arch=amd64] http://storage.googleapis.com/tensorflow-serving-apt stable tensorflow-model-server tensorflow-model-server-universal" \\
      | sudo tee /etc/apt/sources.list.d/tensorflow-serving.list
    curl https://storage.googleapis.com/tensorflow-serving-apt/tensorflow-serving.release.pub.gpg | sudo apt-key add -
    sudo apt-get update && sudo apt-get install tensorflow-model-server
    then run tfclone-serve again.

Then: tfclone-clone --server localhost:{grpc_port} --protocol grpc ... (or localhost:{rest_port} --protocol rest)
"""


def main(argv):
    del argv
    from tfclone.serving.config import Batching, ServingConfigError, write_serving_configs

    batching = Batching.up_to(FLAGS.max_batch_size, batch_timeout_micros=FLAGS.batch_timeout_micros)
    try:
        paths = write_serving_configs(FLAGS.export_dir, batching)
        docker = write_serving_configs(FLAGS.export_dir, batching, base_path="/models", filename="models.docker.config")
    except ServingConfigError as e:
        print(f"tfclone-serve: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {paths['models_config']}, {docker['models_config']} and {paths['batching_parameters']}")
    binary = shutil.which(FLAGS.binary)
    if binary is None:
        print(instructions(FLAGS.export_dir, docker["models_config"], FLAGS.grpc_port, FLAGS.rest_port,
                           FLAGS.batching), file=sys.stderr)
        sys.exit(NOT_INSTALLED)
    command = server_command(binary, paths, FLAGS.grpc_port, FLAGS.rest_port, FLAGS.batching)
    print(" ".join(command), flush=True)
    os.execv(binary, command)


def run():
    run_tool(main, __name__)


if __name__ == "__main__":
    run()
