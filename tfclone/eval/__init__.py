"""Evaluation: speaker verification (EER, minDCF); MCD, WER and speaker similarity join with their models."""
