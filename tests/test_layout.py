"""The layout the README promises: pages that only narrate, a UI package, a backend without
Streamlit and without import cycles, files that read in one sitting."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 600


def _sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if ".venv" not in p.parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as absolute names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lens_graph() -> dict[str, set[str]]:
    """lens module -> the lens modules it imports (lazy imports included)."""
    mods = {_module_name(p): p for p in _sources("lens")}
    return {m: {i for i in _imports(p) if i in mods and i != m} for m, p in mods.items()}


def test_lens_has_no_import_cycle():
    graph = lens_graph()
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            assert state.get(n) != 1, "import cycle: " + " -> ".join([*trail, m, n])
            if n not in state:
                visit(n, [*trail, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])


def test_history_does_not_import_the_trainer():
    assert "lens.train" not in lens_graph()["lens.history"]


def test_the_backend_never_imports_streamlit():
    for path in _sources("lens"):
        assert not any(i == "streamlit" or i.startswith("streamlit.") for i in _imports(path)), path


def test_no_source_file_is_longer_than_one_sitting():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _sources("lens", "ui", "pages", "tests", "bench") + [ROOT / "app.py"]
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_pages_holds_only_the_routed_narrative_pages():
    app = (ROOT / "app.py").read_text()
    for path in (ROOT / "pages").glob("*.py"):
        assert path.name == "__init__.py" or f'"{path.name}"' in app, path


def test_pages_have_no_caches_and_call_no_private_name_of_another_module():
    private = re.compile(r"\b(?:state|data|charts|links|scope|raster|theme|story)\._[a-z]\w*\(")
    for path in _sources("pages", "ui") + [ROOT / "app.py"]:
        text = path.read_text()
        assert not private.search(text), (path, private.search(text))
        if path.parent.name == "pages":
            assert "st.cache_" not in text, path
