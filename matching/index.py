"""The index: two column stores (``store.DocStore``), one of capabilities and one of open needs, that documents are
added to, archived from and compacted in. One lock guards both: a ranking reads a consistent view under it."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from .store import DocStore

__all__ = ["SIDES", "Index"]

SIDES = ("capability", "need")


class Index:
    def __init__(self, dim: int) -> None:
        self.lock = threading.RLock()
        self.caps = DocStore("capability", dim)
        self.needs = DocStore("need", dim)

    def store(self, side: str) -> DocStore:
        """The store of ``side`` ("capability" or "need"); a compaction replaces it, so read it under the lock."""
        return self.caps if side == "capability" else self.needs

    def add(self, side: str, docs: Sequence, vectors: Sequence[np.ndarray], analyses: Sequence[tuple]) -> None:
        """Add or replace documents with their vectors and analyses (``Analyser.analyse``'s tuples)."""
        with self.lock:
            store = self.store(side)
            for d, v, (toks, info, spans, mentions) in zip(docs, vectors, analyses):
                store.add(d, v, toks, info, spans, mentions)
            self._maybe_compact(side)

    def archive(self, side: str, doc_id: str) -> bool:
        """Take a document out of the index; False when it was not there."""
        with self.lock:
            found = self.store(side).remove(doc_id)
            self._maybe_compact(side)
            return found

    def _maybe_compact(self, side: str) -> None:
        store = self.store(side)
        if store.needs_compaction():
            new = store.compacted()
            if side == "capability":
                self.caps = new
            else:
                self.needs = new

    def trim(self) -> None:
        """Release spare array capacity (call after loading many documents)."""
        with self.lock:
            self.caps.trim()
            self.needs.trim()

    def ids(self, side: str) -> list[str]:
        with self.lock:
            return list(self.store(side).pos)

    def __len__(self) -> int:
        return len(self.caps)

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the arrays of each side (vectors, term frequencies, attributes)."""
        out = {}
        for name, s in (("capabilities", self.caps), ("needs", self.needs)):
            arrays = [s.doc_vec, s.pas_vec, s.pas_start, s.pas_len, s.live, s.bm25.tf.data, s.bm25.tf.indices,
                      s.bm25.tf.rowid, s.bm25.tf.indptr, s.concepts.csr.data, s.concepts.csr.indices]
            out[name] = int(sum(a.nbytes for a in arrays))
        return out
