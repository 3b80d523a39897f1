"""Synthetic capability pools for the benchmarks, made by varying the dev set's texts, with their real vectors.

How a variant is made (``variants``): two of the dev set's 160 capabilities a and b are drawn; the variant's
description is a's sentences shuffled with one dropped, plus b's first sentence when both are in the same language;
its title is a's (70%) or b's; region and partner type are drawn at random; tracks, stages and certifications are a's.
So the pool has the dev set's vocabulary, languages and lengths, but every whole text is new.

Vectors are the real model's (``vectors``): whole texts are all encoded, sentences shared by several variants once.
They are cached under ``var/bench-cache/`` by (n, seed, vector version), so a second run at 100k starts in seconds.
``load_db`` puts a pool (rows + stored vectors) into a migrated database in bulk, as ``clinmatch seed`` would leave it.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np

from matching import CapabilityDoc
from matching.text import split_sentences

DEV = Path(os.environ.get("CLINMATCH_DEV_SET") or ROOT.parent / "shared" / "eval" / "dev")
CACHE = ROOT / "var" / "bench-cache"
REGIONS = ["putuo", "shanghai", "nanjing", "wuxi", "changzhou", "suzhou", "nantong", "zhenjiang", "taizhou", "other"]
SIZES = (1_000, 10_000, 100_000)


def dev_dataset():
    from matching.evaluate import load_dataset

    return load_dataset(DEV)


class CachingEmbedder:
    """Dedupes texts across calls (the synthetic pool reuses sentences); the model does all real encoding."""

    def __init__(self, inner, progress: bool = False):
        self.inner, self.name, self.version, self.dim = inner, inner.name, inner.version, inner.dim
        self.cache: dict[str, np.ndarray] = {}
        self.progress = progress

    def _enc(self, texts):
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        for i in range(0, len(todo), 512):
            chunk = todo[i:i + 512]
            for t, v in zip(chunk, self.inner.encode_passages(chunk)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    encode_queries = encode_passages = _enc

    def __getattr__(self, name):  # encode_documents (pooled whole-text vectors) and the rest: the model's own
        return getattr(self.inner, name)


def variants(caps, n: int, seed: int = 0) -> list[CapabilityDoc]:
    """``n`` capabilities varied from ``caps`` (see the module's docstring); ids S00000, S00001, ..."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b = rng.choice(caps), rng.choice(caps)
        sa, sb = split_sentences(a.description), split_sentences(b.description)
        desc = "".join(rng.sample(sa, len(sa))[: max(1, len(sa) - 1)]) + (sb[0] if sb and a.language == b.language else "")
        out.append(CapabilityDoc(f"S{i:06d}", a.title if rng.random() < 0.7 else b.title, desc,
                                 rng.choice(["enterprise", "lab", "platform"]), a.tracks, a.stages,
                                 rng.choice(REGIONS), a.certifications, a.language, ""))
        out[-1].org_name = f"Synthetic {out[-1].org_type}"  # the organisation load_db files it under
    return out


def pool(n: int, seed: int = 0) -> list[CapabilityDoc]:
    """The dev set's own capabilities first, then synthetic variants up to ``n``."""
    ds = dev_dataset()
    caps = list(ds.capabilities)[:n]
    return caps + variants(ds.capabilities, max(0, n - len(caps)), seed)


def vectors(matcher, docs: list[CapabilityDoc], seed: int = 0, progress: bool = True) -> dict:
    """``matcher.embed_capabilities(docs)`` for ``variants(..., seed)``, cached on disk (a cached larger pool of the
    same seed holds a smaller one as its prefix: variants are drawn in sequence)."""
    if not docs:
        return {"model": matcher.model_name, "version": matcher.vector_version, "dim": matcher.embedder.dim,
                "vectors": {}}
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"variants-{seed}-{matcher.vector_version}")
    want = [d.id for d in docs]
    for g in sorted(CACHE.glob(f"{stem}-*.npz"), key=lambda p: p.stat().st_size):
        z = np.load(g, allow_pickle=False)
        ids = z["ids"]
        if len(ids) >= len(want) and list(ids[:len(want)]) == want:
            mat, off = z["mat"], z["off"]
            vecs = {d.id: mat[off[i]:off[i + 1]] for i, d in enumerate(docs)}
            return {"model": matcher.model_name, "version": matcher.vector_version, "dim": int(mat.shape[1]),
                    "vectors": vecs}
    f = CACHE / f"{stem}-{len(docs)}.npz"
    inner = matcher.embedder
    matcher.embedder = CachingEmbedder(inner)
    t0 = time.perf_counter()
    vecs: dict[str, np.ndarray] = {}
    try:
        for i in range(0, len(docs), 2000):
            vecs.update(matcher.embed_capabilities(docs[i:i + 2000])["vectors"])
            if progress:
                print(f"  embedded {min(i + 2000, len(docs))}/{len(docs)} ({time.perf_counter() - t0:.0f} s)",
                      file=sys.stderr)
    finally:
        matcher.embedder = inner
    mats = [vecs[d.id] for d in docs]
    off = np.zeros(len(docs) + 1, np.int64)
    off[1:] = np.cumsum([len(m) for m in mats])
    np.savez(f, ids=np.array([d.id for d in docs]), mat=np.concatenate(mats).astype(np.float32), off=off)
    return {"model": matcher.model_name, "version": matcher.vector_version, "dim": int(mats[0].shape[1]),
            "vectors": vecs}


def analyses(matcher, docs: list[CapabilityDoc], seed: int = 0, progress: bool = True) -> dict[str, bytes]:
    """``matcher.analysis_blob`` of each of ``variants(..., seed)``, cached on disk like ``vectors``."""
    if not docs:
        return {}
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "_"
                   for ch in f"analysis-{seed}-{matcher.analysis_version}")
    want = [d.id for d in docs]
    for g in sorted(CACHE.glob(f"{stem}-*.npz"), key=lambda p: p.stat().st_size):
        z = np.load(g, allow_pickle=False)
        if len(z["ids"]) >= len(want) and list(z["ids"][:len(want)]) == want:
            raw, off = z["raw"].tobytes(), z["off"]
            return {d.id: raw[off[i]:off[i + 1]] for i, d in enumerate(docs)}
    t0 = time.perf_counter()
    blobs = []
    for i, d in enumerate(docs):
        blobs.append(matcher.analysis_blob(d))
        if progress and (i + 1) % 10000 == 0:
            print(f"  analysed {i + 1}/{len(docs)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    off = np.zeros(len(docs) + 1, np.int64)
    off[1:] = np.cumsum([len(b) for b in blobs])
    np.savez(CACHE / f"{stem}-{len(docs)}.npz", ids=np.array(want), raw=np.frombuffer(b"".join(blobs), np.uint8),
             off=off)
    return {d.id: b for d, b in zip(docs, blobs)}


def start_server(env: dict, port: int, app: str = "app.main:create_app", timeout: float = 900, **popen):
    """The real server (uvicorn, one worker) in a subprocess on loopback; returns (process, base URL, start-up
    seconds) once /healthz answers. The caller terminates the process."""
    import subprocess

    import httpx

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port), "--log-level",
                             "warning", "--no-access-log"], cwd=ROOT, env=env, **popen)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base, time.perf_counter() - t0
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None or time.perf_counter() - t0 > timeout:
            proc.kill()
            raise SystemExit(f"server ({app}) did not start")


def load_db(url: str, n: int, seed: int = 0, progress: bool = True) -> dict:
    """A migrated database at ``url`` holding the dev set (needs, capabilities, organisations through the seed
    loader) plus synthetic capabilities up to ``n`` in all, every one with its stored vectors.

    Returns {"need_ids": [...], "capability_ids": [...], "token": a commission token}."""
    from sqlalchemy import insert
    from sqlmodel import select

    from app.config import Settings
    from app.db import make_engine, session_scope
    from app.main import load_embedder
    from app.migrate import upgrade
    from app.models import Capability, Embedding, Need, Organisation
    from app.models.common import utcnow
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users
    from app.services.matching.documents import capability_doc, need_doc, text_hash
    from app.services.matching.index import build_index
    from app.services.matching.vectors import store_vectors
    from seed.loader import load_dataset as seed_dataset

    upgrade(url)
    engine = make_engine(url)
    index = build_index(load_embedder(Settings(database_url=url)))
    ds = dev_dataset()
    with session_scope(engine) as s:
        rep = seed_dataset(s, DEV, progress=False)
    need_ids = [v for k, v in rep.ids.items() if k.startswith("need:")]
    syn = variants(ds.capabilities, max(0, n - len(ds.capabilities)), seed)
    payload = vectors(index.matcher, syn, seed, progress=progress)
    blobs = analyses(index.matcher, syn, seed, progress=progress)
    now = utcnow()
    emb_table = Embedding
    if engine.dialect.name == "postgresql":  # the whole-text vector in embeddings.vec too (pgvector search)
        from pgvector.sqlalchemy import Vector
        from sqlalchemy import column, table

        from app.models.embedding import DENSE_VEC_DIM
        emb_table = table("embeddings", *(column(c.name, c.type) for c in Embedding.__table__.columns
                                          if c.name != "id"), column("vec", Vector(DENSE_VEC_DIM)))
    with session_scope(engine) as s:
        orgs = {}
        for kind in ("enterprise", "lab", "platform"):
            o = organisations.create(s, None, OrganisationCreate(kind=kind, name_en=f"Synthetic {kind}",
                                                                 region="suzhou"))
            orgs[kind] = o
        org_rows = {o.id: o for o in orgs.values()}
        for i in range(0, len(syn), 2000):
            chunk = syn[i:i + 2000]
            res = s.execute(insert(Capability).returning(Capability.id), [{
                "organisation_id": orgs[v.org_type].id, "kind": "product", "title": v.title[:300],
                "description": v.description or v.title, "tracks": v.tracks or ["digital_health"], "stages": v.stages,
                "certifications": v.certifications, "region": v.region, "language": v.language or "zh", "status": "active",
                "version": 1, "created_at": now, "updated_at": now} for v in chunk])
            ids = [r[0] for r in res]
            rows = []
            for cid, v in zip(ids, chunk):
                cap = Capability(id=cid, organisation_id=orgs[v.org_type].id, kind="product", title=v.title[:300],
                                 description=v.description or v.title, tracks=v.tracks or ["digital_health"],
                                 stages=v.stages, certifications=v.certifications, region=v.region,
                                 language=v.language or "zh")
                d = capability_doc(cap, org_rows[cap.organisation_id])
                vec = payload["vectors"][v.id]
                rows.append({"entity": "capability", "entity_id": cid, "model_name": index.matcher.model_name,
                                 "model_version": index.matcher.vector_version, "text_hash": text_hash(d),
                                 "dim": int(vec.shape[1]), "rows": int(vec.shape[0]), "data": vec.tobytes(), "created_at": now,
                                 "analysis": blobs[v.id] if text_hash(d) == text_hash(v)
                                 else index.matcher.analysis_blob(d)})
                if emb_table is not Embedding:
                    rows[-1]["vec"] = vec[0] if vec.shape[1] == DENSE_VEC_DIM else None
            s.execute(insert(emb_table), rows)
        # the dev set's own rows: vectors through the service (as the seed stores them)
        dev_caps = s.exec(select(Capability, Organisation).join(
            Organisation, Organisation.id == Capability.organisation_id)
            .where(Capability.organisation_id.not_in([o.id for o in orgs.values()]))).all()
        store_vectors(s, index.matcher, [capability_doc(c, o) for c, o in dev_caps])
        store_vectors(s, index.matcher, [need_doc(x) for x in s.exec(select(Need)).all()])
        org = organisations.create(s, None, OrganisationCreate(kind="commission", name_en="Bench", region="putuo"))
        u = users.create_user(s, None, UserCreate(email=f"bench{time.time_ns()}@example.org", role="commission",
                                                  organisation_id=org.id))
        _, token = users.issue_token(s, None, u.id, TokenCreate(name="bench"))
        cap_ids = list(s.exec(select(Capability.id)).all())
    engine.dispose()
    return {"need_ids": need_ids, "capability_ids": cap_ids, "token": token}
