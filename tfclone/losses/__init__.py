"""Losses: ge2e (speaker encoder), tacotron; the WaveNet losses live beside the model (tfclone.models.wavenet)."""
