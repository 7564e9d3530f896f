"""Evaluation: speaker verification (EER, minDCF), alignment scores, mel-cepstral distortion (vocoder)."""
