"""Audio: io (load/save any libsndfile format), features (the one STFT/mel implementation), mulaw, effects."""
from tfclone.audio.io import AudioError, check, load, load_with_rate, resample, save
