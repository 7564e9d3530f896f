"""The voice studio: a web page and an OpenAI-compatible speech API over the cloning runner
(`tfclone-studio`). library: voices in SQLite; engine: fair, batched synthesis off the event loop;
formats: response audio; app: the FastAPI app."""
