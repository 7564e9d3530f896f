"""tfclone: few-shot voice cloning (SV2TTS) in TensorFlow 2 / Keras 3."""
__version__ = "0.1.0"
