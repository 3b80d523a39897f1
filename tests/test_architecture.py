"""The layers, read from the source: module-level imports only (an import inside a function is a deliberate, commented
exception), so a new arrow that closes a circle or runs back up fails here, not at some later start-up."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "matching", "seed")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _top_level_imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Modules of ours imported when ``path`` runs (``if TYPE_CHECKING:`` blocks left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(stmts):
        for node in stmts:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for a in node.names:  # ``from pkg import module`` names the module itself
                    out.add(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base)

    visit(tree.body)
    return {m for m in out if m in known}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _top_level_imports(path, name, known) for name, path in mods.items()}


def _reaches(graph: dict[str, set[str]], start: str, target_prefix: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        for n in graph.get(m, ()):
            if n.startswith(target_prefix):
                return True
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return False


def test_no_import_circles():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    circles = []

    def dfs(m, stack):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                circles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                dfs(n, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m, [])
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def _importers(graph, prefix):
    return {m for m, deps in graph.items() for d in deps if d == prefix or d.startswith(prefix + ".")}


def test_the_layers_point_one_way():
    graph = _graph()
    assert not {m for m in _importers(graph, "app") if m.startswith("matching")}, "matching/ is a pure library"
    assert not {m for m in _importers(graph, "seed") if m.startswith("app")}, "the app never imports seed/"
    lower = ("app.models", "app.workflow", "app.policy", "app.errors", "app.i18n")
    assert not {m for m in _importers(graph, "app.services") if m.startswith(lower)}
    assert not {m for m in _importers(graph, "app.jobs") if m.startswith(("app.services", *lower))}, \
        "request services never call a job (jobs commit)"
    assert not {m for m in _importers(graph, "app.api") | _importers(graph, "app.web") if m.startswith("app.services")}
    # the write side of the matching package sits below the need and capability services (they call it on writes)
    below = [f"app.services.matching.{m}" for m in ("documents", "vectors", "index", "persisted")]
    for m in below:
        assert not _reaches(graph, m, "app.services.needs") and not _reaches(graph, m, "app.services.capabilities"), m


def test_request_services_flush_and_only_jobs_commit():
    owners = []
    for p in sorted((ROOT / "app" / "services").rglob("*.py")):
        src = p.read_text(encoding="utf-8")
        for needle in (".commit()", ".rollback()", "session_scope("):
            if needle in src:
                owners.append(f"{p.relative_to(ROOT)}: {needle}")
    assert not owners, "a request service that owns a transaction belongs in app/jobs:\n" + "\n".join(owners)


def test_every_error_class_lives_in_app_errors():
    """Exceptions of the app are defined in one module (problem+json codes, translated messages, one place to look)."""
    elsewhere = []
    for p in sorted((ROOT / "app").rglob("*.py")):
        if p == ROOT / "app" / "errors.py":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                    ast.unparse(b).split(".")[-1].endswith(("Error", "Exception", "Conflict", "NotFound", "Invalid",
                                                           "Forbidden", "Unauthorized", "Blocked", "Failed"))
                    or ast.unparse(b) in {"ValueError", "RuntimeError", "KeyError"} for b in node.bases):
                elsewhere.append(f"{p.relative_to(ROOT)}: {node.name}")
    assert not elsewhere, elsewhere
