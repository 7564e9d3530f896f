"""TF Serving: the model server config and batching parameters, checked with TF Serving's own protos."""
