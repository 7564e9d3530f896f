"""Losses: ge2e (speaker encoder); tacotron and wavenet losses join as those models land."""
