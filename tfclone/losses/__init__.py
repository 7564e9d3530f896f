"""Losses, per example ([B]): ge2e (speaker encoder), tacotron (synthesizer), wavenet (vocoder)."""
