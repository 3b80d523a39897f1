"""Concurrent transitions from one version, as real parallel HTTP requests against a real server: exactly one wins,
the others get 409, and the history holds exactly the winner's step. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import httpx


def _race(base: str, requests: list[tuple[str, dict, dict]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))
    results: list[httpx.Response | None] = [None] * len(requests)

    def go(i: int) -> None:
        url, body, headers = requests[i]
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            barrier.wait()
            results[i] = c.post(url, json=body)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results  # type: ignore[return-value]


def test_concurrent_transitions_from_one_version_exactly_one_wins(live_server, world, engagement):
    h, c = world["hospital"].headers, world["company"].headers
    for round_ in range(3):
        eng = engagement("intent_signed")
        url = f"/api/v1/engagements/{eng['id']}/transitions"
        v = eng["version"]
        # The hospital moves on, the company puts it on hold, both withdraw — all from the same version.
        reqs = [(url, {"target": "training_observation", "version": v}, h),
                (url, {"target": "on_hold", "comment": "budget", "version": v}, c),
                (url, {"target": "withdrawn", "comment": "changed plans", "version": v}, h),
                (url, {"target": "terminated", "comment": "ended", "version": v}, c)]
        results = _race(live_server, reqs)
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409, 409, 409], [r.text for r in results]
        for r in results:
            if r.status_code == 409:
                assert r.headers["content-type"].startswith("application/problem+json")
        winner = next(r for r in results if r.status_code == 200).json()
        final = httpx.get(f"{live_server}/api/v1/engagements/{eng['id']}", headers=h).json()
        assert final["version"] == v + 1 and final["state"] == winner["state"]
        assert [x["to_state"] for x in final["history"]] == ["proposed", "intent_signed", winner["state"]]
        audit = httpx.get(f"{live_server}/api/v1/audit", params={"entity": "engagement", "entity_id": eng["id"]},
                          headers=world["admin"].headers).json()["items"]
        assert audit[0]["action"] == f"transition:{winner['state']}"
        assert sum(e["action"].startswith("transition:") for e in audit) == 2


def test_same_transition_sent_twice_in_parallel_is_applied_once(live_server, world, engagement):
    eng = engagement("intent_signed")
    url = f"/api/v1/engagements/{eng['id']}/transitions"
    h = world["hospital"].headers
    body = {"target": "training_observation", "version": eng["version"]}
    results = _race(live_server, [(url, body, h)] * 6)
    assert sorted(r.status_code for r in results) == [200] + [409] * 5
    final = httpx.get(f"{live_server}/api/v1/engagements/{eng['id']}", headers=h).json()
    assert [x["to_state"] for x in final["history"]].count("training_observation") == 1
