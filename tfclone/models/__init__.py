"""Keras subclassed models: speaker_encoder (GE2E); tacotron2 and wavenet join as they land."""
