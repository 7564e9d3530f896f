"""The cloning runner: reference clip + text -> waveform through the three exported models.

    from tfclone.inference import Cloner
    cloner = Cloner("exported")                       # or Cloner(server="localhost:8500", protocol="grpc")
    wav = cloner.clone("voice.wav", "Any text you like. In several sentences.")   # float32 at cloner.sample_rate

It holds no model code: the models are SavedModels (local or behind TF Serving), the vocabulary and audio
presets come from the exported assets. TensorFlow is imported only by the local backend (and gRPC's
tensor protos): a REST client runs without it.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from tfclone.config.registry import VOCODERS
from tfclone.export.layout import ExportError, audio_mismatch, default_vocoder, latest_version, read_config
from tfclone.inference.backends import CloneError, GrpcBackend, LocalBackend, RestBackend

Reference = Union[str, Tuple[np.ndarray, int]]


class Synthesis(NamedTuple):
    audio: np.ndarray      # [S] at the synthesizer's rate
    mel: np.ndarray        # [F, n_mels]
    alignment: np.ndarray  # [decoder steps, tokens]


def piece_spans(frames: int, head: int, context: int) -> List[Tuple[int, int, int, int]]:
    """The pieces a mel of `frames` frames is vocoded in: (start, end) of each piece's own frames, the first
    `head` long and each next twice as long, and (low, high), the frames vocoded for it (`context` more on
    either side, within the mel)."""
    spans, start, size = [], 0, head
    while start < frames:
        end = min(frames, start + size)
        spans.append((start, end, max(0, start - context), min(frames, end + context)))
        start, size = end, 2 * size
    return spans


class Cloner:
    """`models`: the exported/ folder (SavedModels, and in server mode the assets: vocabulary and configs).
    `server`: HOST:PORT of tensorflow_model_server serving the same exports; `protocol`: rest or grpc.
    `vocoder`: "hifigan", "vocoder" (WaveNet) or "griffin_lim"; default: the first of those exported whose
    audio preset equals the synthesizer's (tfclone.export.layout.default_vocoder). `preload=False` loads each
    local SavedModel on its first use, so a bad reference or text is reported before any model is loaded
    (tfclone-clone); a server loads them at once (the first request is then no slower than the next).
    `xla=False` decodes through the local synthesizer's `plain` signature: no XLA program is compiled or
    loaded for each new range of sentence lengths (~1 s each on 2 cores), for ~20% slower decoding; a
    one-shot process gains (tfclone-clone), a long-running one keeps XLA."""

    def __init__(self, models: str = "exported", server: Optional[str] = None, protocol: str = "grpc",
                 vocoder: Optional[str] = None, pause_seconds: float = 0.25, max_batch: int = 8,
                 min_reference_seconds: float = 1.0, max_sentence_chars: int = 200, preload: bool = True,
                 xla: bool = True):
        from tfclone.text.symbols import SymbolTable

        if not os.path.isdir(models):
            raise CloneError(f"--models {models}: no such folder (export the models with tfclone-export)")
        if vocoder is not None and vocoder not in VOCODERS:
            raise CloneError(f"--vocoder {vocoder}: unknown (known: {', '.join(VOCODERS)})")
        try:
            paths = {name: latest_version(models, name) for name in ("speaker_encoder", "synthesizer")}
            configs = {name: read_config(path, name) for name, path in paths.items()}
        except ExportError as e:
            raise CloneError(f"--models {models}: {e}") from None
        self.models = models
        self._synthesizer_audio = configs["synthesizer"].audio
        self._vocoder_configs = {}
        vocoder = vocoder or default_vocoder(models, self._synthesizer_audio)
        try:
            self._vocoder_config(vocoder)
        except CloneError as e:
            raise CloneError(f"--models {models}: {e}; export a matching pair") from None
        paths[vocoder] = latest_version(models, vocoder)
        symbols_path = os.path.join(paths["synthesizer"], "assets", "symbols.txt")
        if not os.path.isfile(symbols_path):
            raise CloneError(f"{paths['synthesizer']}: no assets/symbols.txt (the synthesizer's vocabulary)")
        self.symbols = SymbolTable.load(symbols_path)
        self.vocoder = vocoder
        self.encoder_rate = configs["speaker_encoder"].audio.sample_rate
        self.sample_rate = configs["synthesizer"].audio.sample_rate
        self.pause_seconds, self.max_batch = pause_seconds, max_batch
        self.min_reference_seconds, self.max_sentence_chars = min_reference_seconds, max_sentence_chars
        if server is None:
            self.backend = LocalBackend(paths, export_base=models, preload=preload,
                                        signatures=None if xla else {"synthesizer": "plain"})
        elif protocol == "rest":
            self.backend = RestBackend(server)
        elif protocol == "grpc":
            self.backend = GrpcBackend(server)
        else:
            raise CloneError(f"--protocol {protocol}: must be rest or grpc")

    # ------------------------------------------------------------------------------------------ pieces
    def load_reference(self, reference: Reference) -> np.ndarray:
        """A path (any format libsndfile reads) or (samples, rate) -> float32 at the encoder's rate."""
        from tfclone.audio import io

        try:
            if isinstance(reference, (str, os.PathLike)):
                return io.load(str(reference), self.encoder_rate, min_seconds=self.min_reference_seconds)
            wav, rate = reference
            wav = np.asarray(wav, np.float32).reshape(-1)
            io.check(wav, rate, name="reference audio", min_seconds=self.min_reference_seconds)
            return io.resample(wav, rate, self.encoder_rate) if rate != self.encoder_rate else wav
        except io.AudioError as e:
            raise CloneError(f"reference {e}" if not str(e).startswith("reference") else str(e)) from None

    def embed(self, reference: Reference) -> np.ndarray:
        wav = self.load_reference(reference)
        out = self.backend.run("speaker_encoder", {"audio": wav[None], "audio_length": np.array([len(wav)], np.int32)})
        return out["embedding"][0]

    def sentences(self, text: str) -> List[Tuple[str, List[int]]]:
        """Text -> [(sentence, ids)]; CloneError if nothing in it can be spoken."""
        from tfclone.text import text_to_ids
        from tfclone.text.split import split_sentences
        from tfclone.text.symbols import EOS, PAD, PUNCTUATION, SPACE

        silent = {self.symbols.to_ids([s], add_eos=False)[0] for s in (PAD, EOS, SPACE, *PUNCTUATION)
                  if s in self.symbols}
        out = []
        for sentence in split_sentences(text or "", self.max_sentence_chars):
            try:
                ids = text_to_ids(sentence, self.symbols)
            except ValueError:
                continue
            if any(i not in silent for i in ids):
                out.append((sentence, ids))
        if not out:
            shown = (text or "").strip()[:60]
            raise CloneError(f"text {shown!r}: nothing speakable in it" if shown else "text: empty")
        return out

    def vocoders(self) -> List[str]:
        """The vocoders exported beside the synthesizer whose audio preset equals its own, best first."""
        out = []
        for name in VOCODERS:
            try:
                self._vocoder_config(name)
            except CloneError:
                continue
            out.append(name)
        return out

    def _vocoder_config(self, name: str):
        """The config of the exported vocoder `name`; CloneError if it is unknown, absent or mismatched."""
        if name not in self._vocoder_configs:
            if name not in VOCODERS:
                raise CloneError(f"vocoder {name!r}: unknown (known: {', '.join(VOCODERS)})")
            try:
                config = read_config(latest_version(self.models, name), name)
            except ExportError as e:
                raise CloneError(f"vocoder {name!r}: not exported ({e})") from None
            mismatch = audio_mismatch(self._synthesizer_audio, config.audio)
            if mismatch:
                raise CloneError(f"vocoder {name!r}: its audio preset differs from the synthesizer's ({mismatch})")
            self._vocoder_configs[name] = config
        return self._vocoder_configs[name]

    def decode(self, embeddings: np.ndarray, id_lists: Sequence[List[int]]) -> Dict[str, np.ndarray]:
        """One batch of sentences, each in its own voice (`embeddings` [B, D]) -> the synthesizer's outputs
        (mel [B, F, n_mels], mel_length [B], alignment [B, steps, T])."""
        lengths = np.array([len(ids) for ids in id_lists], np.int32)
        token_ids = np.zeros([len(id_lists), lengths.max()], np.int32)
        for i, ids in enumerate(id_lists):
            token_ids[i, :len(ids)] = ids
        speaker = np.asarray(embeddings, np.float32).reshape(len(id_lists), -1)
        return self.backend.run("synthesizer", {"token_ids": token_ids, "token_length": lengths,
                                                "speaker_embedding": speaker})

    def vocode(self, mel: np.ndarray, mel_length: np.ndarray, vocoder: Optional[str] = None,
               speaker: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
        """mel [B, F, n_mels], mel_length [B] -> {audio [B, S], audio_length [B]} by `vocoder`; `speaker`
        [B, D] is passed to a speaker-conditioned WaveNet."""
        vocoder = vocoder or self.vocoder
        config = self._vocoder_config(vocoder)
        inputs = {"mel": np.asarray(mel, np.float32), "mel_length": np.asarray(mel_length, np.int32)}
        if vocoder == "vocoder" and getattr(config.model, "speaker_conditioning", False):
            inputs["speaker_embedding"] = np.asarray(speaker, np.float32).reshape(len(inputs["mel"]), -1)
        return self.backend.run(vocoder, inputs)

    def vocode_pieces(self, mel: np.ndarray, vocoder: Optional[str] = None, speaker: Optional[np.ndarray] = None,
                      head_frames: int = 24) -> Iterator[np.ndarray]:
        """One mel [F, n_mels] -> its audio in pieces, in order. HiFi-GAN (convolutional: a sample depends only
        on the mel frames within its receptive field) gives a first piece of `head_frames` frames and each
        next twice as long, each vocoded with the receptive field's worth of mel either side and cut, so the
        pieces joined equal the whole mel's audio (to float error) and the first comes after a fraction of
        the work. Other vocoders give one piece: the WaveNet is autoregressive, Griffin-Lim's phase is
        estimated over the whole mel."""
        vocoder = vocoder or self.vocoder
        config = self._vocoder_config(vocoder)
        frames, hop = len(mel), config.audio.hop_length
        if vocoder != "hifigan" or frames <= head_frames:
            out = self.vocode(mel[None], [frames], vocoder, speaker)
            yield out["audio"][0, :int(out["audio_length"][0])]
            return
        for start, end, low, high in piece_spans(frames, head_frames, int(np.ceil(config.model.receptive_frames()))):
            out = self.vocode(mel[None, low:high], [high - low], vocoder, speaker)
            yield out["audio"][0, (start - low) * hop:(end - low) * hop]

    def synthesize_rows(self, embeddings: np.ndarray, id_lists: Sequence[List[int]],
                        vocoder: Optional[str] = None, piece_rows: Sequence[int] = (),
                        on_piece: Optional[Callable[[int, np.ndarray], None]] = None) -> List[Synthesis]:
        """One batch of sentences, each in its own voice (`embeddings` [B, D]) -> a Synthesis per sentence:
        its waveform, mel [F, n_mels] and attention alignment [decoder steps, tokens], each cut to length.
        Rows in `piece_rows` are vocoded first, in growing pieces (vocode_pieces), each handed to
        `on_piece(row, audio)` as it is ready (a streaming server's first sentence); the rest in one call."""
        vocoder = vocoder or self.vocoder
        speaker = np.asarray(embeddings, np.float32).reshape(len(id_lists), -1)
        self.backend.prefetch(vocoder)  # a first call's load of the vocoder overlaps the decode
        mel = self.decode(speaker, id_lists)
        lengths = [int(n) for n in mel["mel_length"]]
        waves: Dict[int, np.ndarray] = {}
        for row in piece_rows:
            pieces = []
            for piece in self.vocode_pieces(mel["mel"][row, :lengths[row]], vocoder, speaker[row:row + 1]):
                pieces.append(piece)
                if on_piece is not None:
                    on_piece(row, piece)
            waves[row] = np.concatenate(pieces)
        rest = [i for i in range(len(id_lists)) if i not in waves]
        # HiFi-GAN's convolutions run at the CPU's matmul bound at batch 1, so a batch buys no speed; vocoded
        # row by row, no row pays for the batch's longest mel and only one sentence's activations are held
        # (a 10-sentence paragraph: RTF and peak memory measured in README's speed section). The WaveNet and
        # Griffin-Lim gain from the batch (per-sample steps / per-iteration FFTs shared), so they keep it.
        groups = [[i] for i in rest] if vocoder == "hifigan" else [rest] if rest else []
        for group in groups:
            audio = self.vocode(mel["mel"][group, :max(lengths[i] for i in group)], mel["mel_length"][group], vocoder,
                                speaker[group])
            for j, i in enumerate(group):
                waves[i] = audio["audio"][j, :int(audio["audio_length"][j])]
        alignments = mel.get("alignment", np.zeros([len(id_lists), 0, 0], np.float32))
        r = max(1, mel["mel"].shape[1] // max(1, alignments.shape[1]))  # mel frames per decoder step
        return [Synthesis(waves[i], mel["mel"][i, :lengths[i]], alignments[i, :-(-lengths[i] // r), :len(ids)])
                for i, ids in enumerate(id_lists)]

    def synthesize(self, embedding: np.ndarray, id_lists: Sequence[List[int]],
                   vocoder: Optional[str] = None) -> List[np.ndarray]:
        """One batch of sentences in one voice -> their waveforms (each cut to its length)."""
        speaker = np.repeat(np.asarray(embedding, np.float32)[None], len(id_lists), axis=0)
        return [s.audio for s in self.synthesize_rows(speaker, id_lists, vocoder)]

    # ------------------------------------------------------------------------------------------ public
    def clone_sentences(self, reference: Reference, text: str, progress: bool = False,
                        batch: Optional[int] = None) -> Iterator[Tuple[str, np.ndarray]]:
        """Yields (sentence, waveform) in order, `batch` sentences per model call (1 for streaming)."""
        from tqdm import tqdm

        sentences = self.sentences(text)
        embedding = self.embed(reference)
        size = batch or self.max_batch
        with tqdm(total=len(sentences), desc="clone", unit="sentence", disable=not progress) as bar:
            for start in range(0, len(sentences), size):
                chunk = sentences[start:start + size]
                for (sentence, _), wav in zip(chunk, self.synthesize(embedding, [ids for _, ids in chunk])):
                    yield sentence, wav
                bar.update(len(chunk))

    def stream(self, reference: Reference, text: str, head_frames: int = 24,
               progress: bool = False) -> Iterator[Tuple[int, np.ndarray]]:
        """Yields (sentence number from 0, audio piece) in order, each as soon as it is ready, for a player
        that starts at once: one sentence per model call, and the first sentence vocoded in growing pieces
        (vocode_pieces: with HiFi-GAN the first sound waits for the encoder, the first sentence's decode and
        `head_frames` frames of vocoding, not the whole sentence's). The pieces of a sentence joined are its
        waveform; `join` puts the pauses between sentences."""
        from tqdm import tqdm

        sentences = self.sentences(text)
        embedding = self.embed(reference)[None]
        self.backend.prefetch(self.vocoder)  # a first call's load of the vocoder overlaps the first decode
        for n, (_, ids) in enumerate(tqdm(sentences, desc="clone", unit="sentence", disable=not progress)):
            mel = self.decode(embedding, [ids])
            frames = int(mel["mel_length"][0])
            head = head_frames if n == 0 else frames  # a head as long as the mel: one piece
            for piece in self.vocode_pieces(mel["mel"][0, :frames], speaker=embedding, head_frames=head):
                yield n, piece

    def join(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        pause = np.zeros(int(self.pause_seconds * self.sample_rate), np.float32)
        pieces = []
        for i, wav in enumerate(waveforms):
            pieces.extend([pause, wav] if i else [wav])
        return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros([0], np.float32)

    def clone(self, reference: Reference, text: str, progress: bool = False) -> np.ndarray:
        """Reference clip + text -> float32 waveform at `sample_rate`; sentences joined by short pauses."""
        return self.join([wav for _, wav in self.clone_sentences(reference, text, progress)])
