"""Keras subclassed models: speaker_encoder (GE2E), resemblyzer (importer), tacotron2, wavenet."""
