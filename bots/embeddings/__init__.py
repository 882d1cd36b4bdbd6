"""Embeddings: the process's sentence-transformers model and in-memory vector indexes."""

from bots.embeddings.model import DIMENSIONS, Embedder, from_bytes, load_model, to_bytes, tokenizer_words
from bots.embeddings.vectors import Snapshot, VectorIndex, best_rows

__all__ = [
    "DIMENSIONS",
    "Embedder",
    "Snapshot",
    "VectorIndex",
    "best_rows",
    "from_bytes",
    "load_model",
    "to_bytes",
    "tokenizer_words",
]
