"""Reusable Keras layers and the helpers they need."""
