"""Growth: how ranking latency, the matches endpoint, start-up and memory grow from 1k to 100k capabilities.

    python bench/growth.py [--sizes 1000,10000,100000] [--out bench/out]

Runs bench/matcher_latency.py and bench/service_matches.py at each size (or reads their JSON from --out with
--reuse), prints one table, and saves a small log-log plot (bench/out/growth.png). The plot needs matplotlib
(`pip install -e '.[bench]'`).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script: str, sizes: str, out: Path, extra: list[str]) -> list[dict]:
    subprocess.run([sys.executable, str(ROOT / "bench" / script), "--sizes", sizes, "--json", str(out), *extra],
                   check=True, cwd=ROOT)
    return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    ap.add_argument("--reuse", action="store_true", help="plot the JSON already in --out")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rj, sj = out / "ranker.json", out / "service.json"
    ranker = json.loads(rj.read_text()) if a.reuse else run("matcher_latency.py", a.sizes, rj, [])
    service = json.loads(sj.read_text()) if a.reuse else run("service_matches.py", a.sizes, sj, [])
    by_n = {r["capabilities"]: {"ranker": r} for r in ranker}
    for s in service:
        by_n.setdefault(s["capabilities"], {})["service"] = s
    print(f"{'capabilities':>12} | {'rank p95 ms':>11} | {'full p95 ms':>11} | {'GET matches p95 ms':>18} | "
          f"{'start-up s':>10} | {'RSS MB':>6}")
    ns = sorted(by_n)
    for n in ns:
        r, s = by_n[n].get("ranker", {}), by_n[n].get("service", {})
        print(f"{n:>12} | {r.get('two_stage', {}).get('p95_ms', '-'):>11} | {r.get('full', {}).get('p95_ms', '-'):>11}"
              f" | {s.get('matches_p95_ms', '-'):>18} | {s.get('server_startup_s', '-'):>10} | "
              f"{s.get('rss_after_requests_mb', '-'):>6}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot (pip install -e '.[bench]')")
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    series = [("rank p95 (two-stage)", lambda d: d.get("ranker", {}).get("two_stage", {}).get("p95_ms")),
              ("rank p95 (full scoring)", lambda d: d.get("ranker", {}).get("full", {}).get("p95_ms")),
              ("GET /needs/{id}/matches p95", lambda d: d.get("service", {}).get("matches_p95_ms"))]
    for label, get in series:
        pts = [(n, get(by_n[n])) for n in ns if get(by_n[n]) is not None]
        if pts:
            ax1.plot(*zip(*pts), marker="o", label=label)
    ax1.axhline(20, ls=":", c="grey", lw=1)
    ax1.axhline(100, ls="--", c="grey", lw=1)
    ax1.set(xscale="log", yscale="log", xlabel="capabilities", ylabel="ms", title="latency (targets 20 / 100 ms)")
    ax1.legend(fontsize=7)
    pts = [(n, by_n[n]["service"]["rss_after_requests_mb"]) for n in ns if "service" in by_n[n]]
    if pts:
        ax2.plot(*zip(*pts), marker="o", label="service RSS (MB)")
    pts = [(n, by_n[n]["service"]["server_startup_s"]) for n in ns if "service" in by_n[n]]
    if pts:
        ax2.plot(*zip(*pts), marker="s", label="start-up (s)")
    ax2.axhline(1536, ls="--", c="grey", lw=1)
    ax2.set(xscale="log", yscale="log", xlabel="capabilities", title="memory and start-up (target 1.5 GB)")
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "growth.png", dpi=110)
    print(f"plot: {out / 'growth.png'}")


if __name__ == "__main__":
    main()
