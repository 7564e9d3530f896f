"""Inference from exported models: the cloning runner (runner.py) and where the models run (backends.py).

    from tfclone.inference import Cloner
    cloner = Cloner("exported")                       # or Cloner(server="localhost:8500", protocol="grpc")
    wav = cloner.clone("voice.wav", "Any text you like. In several sentences.")   # float32 at cloner.sample_rate
"""
from tfclone.inference.backends import CloneError
from tfclone.inference.runner import Cloner, Reference, Synthesis

__all__ = ["Cloner", "CloneError", "Reference", "Synthesis"]
