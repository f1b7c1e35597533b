"""The notebook as the model reads it: earlier cells, outputs, variables and the last error,
gathered from plain values and laid out for the KV cache within a token budget."""
