"""One Task per model: model, inputs, loss, metrics, summaries — a single-replica view of training."""
from tfclone.tasks.base import Task


def build_task(model: str, config) -> Task:
    """Model name -> its Task (a plain factory; no registry filled by imports)."""
    if model == "speaker_encoder":
        from tfclone.tasks.speaker_encoder import SpeakerEncoderTask

        return SpeakerEncoderTask(config)
    if model == "synthesizer":
        from tfclone.tasks.synthesizer import SynthesizerTask

        return SynthesizerTask(config)
    if model == "vocoder":
        from tfclone.tasks.vocoder import VocoderTask

        return VocoderTask(config)
    raise ValueError(f"model: unknown model {model!r} (speaker_encoder, synthesizer, vocoder)")
