"""Evaluation: dataset loader (FORMAT.md jsonl), metrics (nDCG@k, Recall@k, MRR), slices, run files, report.

Definitions (FORMAT.md): nDCG@k with gain = grade and log2(rank + 1) discount, ideal from all judged grades of the need;
Recall@k = share of the need's grade >= 2 items in the top k; MRR = 1 / rank of the first grade >= 2 item within
the top 100 (0 if none). Macro-averaged over needs; a need without any grade >= 2 item is left out of Recall/MRR and
a need without any positive grade out of nDCG. Slices: ``zh`` / ``en`` = needs in that language; ``cross_lingual`` =
needs with at least one grade >= 2 capability in the other language (full judgments, same ranking).
"""
from __future__ import annotations

import inspect
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .docs import CapabilityDoc, Filters, NeedDoc

__all__ = [
    "Dataset",
    "evaluate_run",
    "format_report",
    "load_dataset",
    "ndcg_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "run_eval",
    "write_run",
]

MRR_DEPTH = 100


class Dataset:
    def __init__(self, needs: list[NeedDoc], capabilities: list[CapabilityDoc], qrels: dict[str, dict[str, int]],
                 name: str = ""):
        self.needs, self.capabilities, self.qrels, self.name = needs, capabilities, qrels, name


def _need_from_json(d: Mapping[str, Any]) -> NeedDoc:
    region = d.get("region")
    regions = d.get("regions") if d.get("regions") is not None else ([region] if region else [])
    return NeedDoc(id=str(d["id"]), title=d.get("title") or "", description=d.get("description") or "",
                   tracks=list(d.get("tracks") or []), partner_types=list(d.get("partner_types") or []),
                   stages=list(d.get("stages") or []), regions=list(regions), language=d.get("language"),
                   required_certifications=list(d.get("required_certifications") or []),
                   extra_text=d.get("extra_text") or "", department=d.get("department") or "",
                   specialties=list(d.get("specialties") or []))


def _cap_from_json(d: Mapping[str, Any]) -> CapabilityDoc:
    return CapabilityDoc(id=str(d["id"]), title=d.get("title") or "", description=d.get("description") or "",
                         org_type=d.get("org_type") or "enterprise", tracks=list(d.get("tracks") or []),
                         stages=list(d.get("stages") or []), region=d.get("region") or "",
                         certifications=list(d.get("certifications") or []), language=d.get("language"),
                         org_name=d.get("org") or d.get("org_name") or "",
                         specialties=list(d.get("specialties") or []))


def _jsonl(p: Path) -> Iterable[dict]:
    with open(p, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_dataset(dataset_dir: str | Path, max_capabilities: int | None = None, max_needs: int | None = None,
                 seed: int = 0) -> Dataset:
    """Load ``needs.jsonl``, ``capabilities.jsonl``, ``qrels.tsv``. With ``max_capabilities`` the pool is sampled:
    every capability judged for a kept need stays, the rest is a seeded random sample (say so when reporting)."""
    d = Path(dataset_dir)
    needs = [_need_from_json(x) for x in _jsonl(d / "needs.jsonl")]
    caps = [_cap_from_json(x) for x in _jsonl(d / "capabilities.jsonl")]
    qrels: dict[str, dict[str, int]] = {}
    with open(d / "qrels.tsv", encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and parts[0] == "need_id":
                continue
            if len(parts) >= 3:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    rng = random.Random(seed)
    if max_needs and len(needs) > max_needs:
        needs = sorted(rng.sample(needs, max_needs), key=lambda n: n.id)
    if max_capabilities and len(caps) > max_capabilities:
        keep_ids = {c for n in needs for c in qrels.get(n.id, {})}
        judged = [c for c in caps if c.id in keep_ids]
        rest = [c for c in caps if c.id not in keep_ids]
        extra = max(0, max_capabilities - len(judged))
        caps = judged + rng.sample(rest, min(extra, len(rest)))
    return Dataset(needs, caps, qrels, name=d.name)


# ---------------------------------------------------------------- metrics
def ndcg_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float | None:
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    if not ideal:
        return None
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    return dcg / idcg


def recall_at_k(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10, min_grade: int = 2) -> float | None:
    rel = {d for d, g in grades.items() if g >= min_grade}
    if not rel:
        return None
    return len(rel & set(ranked[:k])) / len(rel)


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int], min_grade: int = 2,
                    depth: int = MRR_DEPTH) -> float | None:
    if not any(g >= min_grade for g in grades.values()):
        return None
    for i, d in enumerate(ranked[:depth]):
        if grades.get(d, 0) >= min_grade:
            return 1.0 / (i + 1)
    return 0.0


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def evaluate_run(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]], k: int = 10,
                 slices: Mapping[str, Iterable[str]] | None = None) -> dict[str, Any]:
    """Macro metrics over the needs in ``run``; ``slices`` maps a slice name to need ids."""
    per = {}
    for nid, ranked in run.items():
        g = qrels.get(nid, {})
        per[nid] = {"ndcg": ndcg_at_k(ranked, g, k), "recall": recall_at_k(ranked, g, k), "mrr": reciprocal_rank(ranked, g)}

    def agg(ids):
        ids = [i for i in ids if i in per]
        return {"n": len(ids), f"ndcg@{k}": _mean(per[i]["ndcg"] for i in ids),
                f"recall@{k}": _mean(per[i]["recall"] for i in ids), "mrr": _mean(per[i]["mrr"] for i in ids)}

    out = {"all": agg(list(per))}
    for name, ids in (slices or {}).items():
        out[name] = agg(list(ids))
    out["per_need"] = per
    return out


def language_slices(ds: Dataset) -> dict[str, list[str]]:
    lang = {c.id: c.language for c in ds.capabilities}
    s = {"zh": [n.id for n in ds.needs if n.language == "zh"], "en": [n.id for n in ds.needs if n.language == "en"],
         "cross_lingual": []}
    for n in ds.needs:
        if any(g >= 2 and lang.get(c) and n.language and lang.get(c) != n.language
               for c, g in ds.qrels.get(n.id, {}).items()):
            s["cross_lingual"].append(n.id)
    return {k: v for k, v in s.items() if v}


def write_run(path: str | Path, results: Mapping[str, Sequence[tuple]], depth: int = 100) -> None:
    """``need_id\tcapability_id\trank\tscore\tconfidence\tband`` lines, top ``depth`` per need; each result is
    ``(capability_id, score[, confidence, band])``. Confidence and band are empty when the matcher has no calibration
    for its model (the first four columns are the usual run format, so tools that read only those still work)."""
    with open(path, "w", encoding="utf-8") as f:
        for nid, items in results.items():
            for r, (cid, score, *cal) in enumerate(items[:depth], start=1):
                conf, band = (cal + [None, None])[:2]
                f.write(f"{nid}\t{cid}\t{r}\t{score:.6f}\t{'' if conf is None else f'{conf:.4f}'}\t{band or ''}\n")


def run_eval(dataset_dir: str | Path, matcher, k: int = 10, run_out: str | Path | None = None,
             max_capabilities: int | None = None, progress: Callable[[str], None] | None = None,
             dataset: Dataset | None = None, vectors=None) -> dict[str, Any]:
    """Index the dataset's capabilities into ``matcher`` (upsert), rank every need (top 100, no filters), score.

    Returns a report dict: dataset, sizes, model, timings, metrics (all / zh / en / cross_lingual), per_need.
    Writes the run file when ``run_out`` is given. ``matcher`` is anything with ``upsert_capabilities`` and
    ``rank(need, k) -> [Match]`` (e.g. ``matching.Matcher``).
    """
    ds = dataset or load_dataset(dataset_dir, max_capabilities=max_capabilities)
    t0 = time.time()
    if vectors is not None:
        matcher.upsert_capabilities(ds.capabilities, vectors=vectors)
    else:
        matcher.upsert_capabilities(ds.capabilities)
    t_index = time.time() - t0
    depth = max(MRR_DEPTH, k)
    kw = {"explain": False} if _accepts_explain(matcher) else {}
    run: dict[str, list[str]] = {}
    scored: dict[str, list[tuple]] = {}
    t1 = time.time()
    for i, n in enumerate(ds.needs):
        res = matcher.rank(n, k=depth, filters=Filters(), **kw)
        scored[n.id] = [(m.capability_id, m.score, getattr(m, "confidence", None), getattr(m, "band", None))
                        for m in res]
        run[n.id] = [m.capability_id for m in res]
        if progress and (i + 1) % 50 == 0:
            progress(f"ranked {i + 1}/{len(ds.needs)}")
    t_rank = time.time() - t1
    metrics = evaluate_run(run, ds.qrels, k=k, slices=language_slices(ds))
    per_need = metrics.pop("per_need")
    if run_out:
        write_run(run_out, scored, depth=depth)
    emb = getattr(matcher, "embedder", None)
    return {
        "dataset": str(dataset_dir), "name": ds.name, "k": k,
        "needs": len(ds.needs), "capabilities": len(ds.capabilities),
        "model": {"name": getattr(emb, "name", None), "version": getattr(emb, "version", None)},
        "seconds": {"index": round(t_index, 2), "rank": round(t_rank, 2)},
        "metrics": metrics, "per_need": per_need, "run_out": str(run_out) if run_out else None,
    }


def _accepts_explain(matcher) -> bool:
    try:
        return "explain" in inspect.signature(matcher.rank).parameters
    except (TypeError, ValueError):
        return False


def format_report(report: Mapping[str, Any]) -> str:
    k = report.get("k", 10)
    lines = [(f"dataset {report.get('name')} ({report.get('needs')} needs, {report.get('capabilities')} capabilities)"
             f"  model {report['model']['name']} {report['model']['version']}"),
             f"{'slice':<15}{'n':>5}{'nDCG@' + str(k):>10}{'R@' + str(k):>8}{'MRR':>8}"]
    for name, m in report["metrics"].items():
        f = lambda x: f"{x:.3f}" if x is not None else "-"
        lines.append(f"{name:<15}{m['n']:>5}{f(m[f'ndcg@{k}']):>10}{f(m[f'recall@{k}']):>8}{f(m['mrr']):>8}")
    lines.append(f"index {report['seconds']['index']}s, rank {report['seconds']['rank']}s")
    return "\n".join(lines)
