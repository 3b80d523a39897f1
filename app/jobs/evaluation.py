"""`clinmatch eval`: rank a dataset's capabilities for each of its needs through the API's own code path.

The dataset is loaded into a fresh database by the seed loader (the services), vectors are stored as on any write,
and every need is ranked by ``app.services.matching.responses.matches_for_need`` — the function behind
``GET /api/v1/needs/{id}/matches`` — so what is measured is what the API serves. Metrics come from
``matching.evaluate``. A job: it builds, commits to and drops its own database.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, select
from tqdm import tqdm

from app.db import make_engine, session_scope
from app.jobs.match_backfill import backfill
from app.migrate import upgrade
from app.models import Need
from app.models.enums import OrgKind, Role
from app.policy import Actor
from app.services import needs
from app.services.matching.index import MatchIndex
from app.services.matching.responses import MatchQuery, matches_for_need
from matching.evaluate import evaluate_run, language_slices, write_run
from matching.evaluate import load_dataset as load_eval_dataset

DEPTH = 100  # ranks kept per need (the run file's depth; MRR looks this deep)


# Loads a dataset folder into a session through the services and returns a report whose ``ids`` map
# "need:<dataset id>" / "capability:<dataset id>" to database ids (``seed.loader.load_dataset``: passed in by the
# CLI, so the app does not import the seed package).
DatasetLoader = Callable[..., Any]


def evaluate(dataset_dir: Path, index: MatchIndex, load_dataset: DatasetLoader, k: int = 10,
             run_out: Path | None = None, progress: bool = True) -> dict[str, Any]:
    ds = load_eval_dataset(dataset_dir)
    with tempfile.TemporaryDirectory(prefix="clinmatch-eval-") as tmp:
        url = f"sqlite:///{tmp}/eval.db"
        upgrade(url)
        engine = make_engine(url)
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            rep = load_dataset(session, dataset_dir, progress=progress)
        backfill(engine, index, progress=progress)
        t_index = time.perf_counter() - t0
        to_dataset = {v: k.split(":", 1)[1] for k, v in rep.ids.items() if k.startswith("capability:")}
        need_ids = {k.split(":", 1)[1]: v for k, v in rep.ids.items() if k.startswith("need:")}
        reader = Actor(user_id=None, organisation_id=0, org_kind=OrgKind.commission, role=Role.commission)
        run: dict[str, list[str]] = {}
        scored: dict[str, list[tuple]] = {}
        t1 = time.perf_counter()
        with Session(engine) as session:
            assert session.exec(select(Need).limit(1)).first() is not None, "dataset has no needs"
            for ds_id, db_id in tqdm(need_ids.items(), desc="rank", unit="need", disable=not progress):
                need = needs.get_visible(session, reader, db_id)
                res = matches_for_need(session, index, reader, need, MatchQuery(limit=DEPTH, include_weak=True),
                                       explain=False)
                scored[ds_id] = [(to_dataset[i["capability"].id], i["score"], i["confidence"], i["band"])
                                 for i in res["items"]]
                run[ds_id] = [row[0] for row in scored[ds_id]]
        t_rank = time.perf_counter() - t1
        engine.dispose()
    metrics = evaluate_run(run, ds.qrels, k=k, slices=language_slices(ds))
    per_need = metrics.pop("per_need")
    if run_out:
        write_run(run_out, scored, depth=DEPTH)
    return {"dataset": str(dataset_dir), "name": ds.name, "k": k, "needs": len(run), "capabilities": len(to_dataset),
            "model": index.model, "seconds": {"index": round(t_index, 2), "rank": round(t_rank, 2)},
            "metrics": metrics, "per_need": per_need, "run_out": str(run_out) if run_out else None}
