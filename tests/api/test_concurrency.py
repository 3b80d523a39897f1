"""Optimistic concurrency with real parallel requests against a real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import httpx


def _race(base: str, url: str, headers: dict, bodies: list[dict]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))
    results: list[httpx.Response | None] = [None] * len(bodies)

    def go(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            barrier.wait()
            results[i] = c.patch(url, json=bodies[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results  # type: ignore[return-value]


def test_concurrent_updates_of_one_version_exactly_one_wins(live_server, world, make_need):
    h = world["hospital"].headers
    for round_ in range(5):
        need = make_need(title=f"并发 {round_}")
        url = f"/api/v1/needs/{need['id']}"
        bodies = [{"department": f"dept-{i}", "version": 1} for i in range(4)]
        results = _race(live_server, url, h, bodies)
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409, 409, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()
        for r in results:
            if r.status_code == 409:
                assert r.headers["content-type"].startswith("application/problem+json")
        final = httpx.get(live_server + url, headers=h).json()
        # Nothing lost, nothing half-applied: the stored need is exactly the winner's write.
        assert final["version"] == 2 and final["department"] == winner["department"]
        audit = httpx.get(live_server + "/api/v1/audit", params={"entity": "need", "entity_id": need["id"]},
                          headers=world["admin"].headers).json()
        assert [e["action"] for e in audit["items"]] == ["update", "create"]
