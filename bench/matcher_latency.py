"""Ranker latency, index build time and memory at growing pool sizes (in-process, exact).

    python bench/matcher_latency.py [--sizes 1000,10000,100000] [--iters 200] [--k 20] [--json bench/out/ranker.json]

Pools: the dev set's 160 capabilities plus synthetic variants of them (bench/synthetic.py says how), with their real
vectors (cached in var/bench-cache after the first run). For each size: the index is built from stored vectors
(as a server start-up does), then the 40 dev needs are ranked ``--iters`` times in random order after each need was
embedded once (the service caches query vectors), k results with explanations, as the API asks. Printed side by
side from the same run: the two-stage ranking (default) and full scoring of every capability (``rerank_depth=None``),
whose results must be identical; how many capabilities the sentence-level signals were computed for; the index's
array memory and the process's RSS.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import psutil
import synthetic

from matching import Matcher, load_embedder


def pct(xs, p):
    return float(np.percentile(np.asarray(xs), p))


def measure(matcher: Matcher, needs, iters: int, k: int, seed: int = 1):
    rng = random.Random(seed)
    lat, depth, results = [], [], {}
    for _ in range(iters):
        n = rng.choice(needs)
        t = time.perf_counter()
        res = matcher.rank(n, k=k)
        lat.append(1000 * (time.perf_counter() - t))
        depth.append(matcher.last_stats.get("reranked", 0))
        results[n.id] = [(r.capability_id, round(r.score, 5)) for r in res]
    return lat, depth, results


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--full-iters", type=int, default=40, help="iterations of full scoring (slow at 100k)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    proc = psutil.Process()
    t = time.perf_counter()
    emb = load_embedder()
    emb.encode_passages(["warm up"])
    print(f"model load: {time.perf_counter() - t:.2f} s ({emb.name} {emb.version}, dim {emb.dim})")
    ds = synthetic.dev_dataset()
    needs = list(ds.needs)
    out = []
    for n in [int(x) for x in a.sizes.split(",")]:
        caps = synthetic.pool(n)
        probe = Matcher(emb)
        syn = [c for c in caps if c.id.startswith("S")]
        vecs = synthetic.vectors(probe, syn, 0)["vectors"] if syn else {}
        vecs.update(probe.embed_capabilities([c for c in caps if not c.id.startswith("S")])["vectors"])
        payload = {"model": probe.model_name, "version": probe.vector_version, "vectors": vecs}
        row = {"capabilities": n}
        for mode, depth in (("two_stage", 1000), ("full", None)):
            gc.collect()
            rss0 = proc.memory_info().rss
            m = Matcher(emb, rerank_depth=depth, rank_cache_size=0)  # every ranking computed
            t = time.perf_counter()
            for i in range(0, len(caps), 2000):
                m.upsert_capabilities(caps[i:i + 2000], vectors=payload)
            build = time.perf_counter() - t
            for nd in needs:
                m.embed_query(nd)
            m.rank(needs[0], k=a.k)
            iters = a.iters if mode == "two_stage" else min(a.iters, a.full_iters)
            lat, dep, res = measure(m, needs, iters, a.k)
            row[mode] = {"p50_ms": round(pct(lat, 50), 2), "p95_ms": round(pct(lat, 95), 2),
                         "p99_ms": round(pct(lat, 99), 2), "iters": iters,
                         "reranked_median": int(statistics.median(dep)), "build_s": round(build, 2),
                         "index_array_mb": round(m.memory_bytes()["capabilities"] / 2**20),
                         "rss_delta_mb": round((proc.memory_info().rss - rss0) / 2**20)}
            row[mode + "_results"] = res
            del m
        def same_ranking(a_, b_):  # same capabilities in the same order, scores equal up to float32 summation order
            return [x for x, _ in a_] == [y for y, _ in b_] and all(abs(s - t) < 1e-4 for (_, s), (_, t) in zip(a_, b_))

        diff = [i for i in row["full_results"]
                if i in row["two_stage_results"] and not same_ranking(row["two_stage_results"][i], row["full_results"][i])]
        for i in diff[:3]:
            a_, b_ = row["two_stage_results"][i], row["full_results"][i]
            print(f"  differs for {i}: first difference",
                  next(((x, y) for x, y in zip(a_, b_) if x != y), (len(a_), len(b_))), file=sys.stderr)
        same = not diff
        row["identical_results"] = same
        del row["two_stage_results"], row["full_results"]
        ts, fu = row["two_stage"], row["full"]
        print(f"{n:>7} capabilities | two-stage p50 {ts['p50_ms']:6.1f}  p95 {ts['p95_ms']:6.1f}  p99 {ts['p99_ms']:6.1f} ms"
              f" (sentence signals for {ts['reranked_median']} rows) | full scoring p50 {fu['p50_ms']:6.1f}  "
              f"p95 {fu['p95_ms']:6.1f} ms | identical: {same} | build {ts['build_s']} s | arrays "
              f"{ts['index_array_mb']} MB, RSS +{ts['rss_delta_mb']} MB", flush=True)
        out.append(row)
        del payload, vecs
    print(json.dumps(out, indent=2))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
