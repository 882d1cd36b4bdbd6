"""Embeddings: the process's sentence-transformers model and in-memory vector indexes."""

from bots.embeddings.model import DIMENSIONS, Embedder, from_bytes, load_model, to_bytes
from bots.embeddings.vectors import VectorIndex

__all__ = ["DIMENSIONS", "Embedder", "VectorIndex", "from_bytes", "load_model", "to_bytes"]
