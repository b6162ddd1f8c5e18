"""Product code never imports torch or transformers: every module of both packages imports with them blocked; and a
clone stays light (the tracked files under 30 MB)."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
sys.modules["torch"] = None
sys.modules["transformers"] = None
import tinygpt, tinytorch
for package in (tinytorch, tinygpt):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
print("ok")
"""


def test_every_module_imports_without_torch_or_transformers():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_a_clone_holds_under_30_mb():
    """The tracked files (what a fresh clone's working tree holds): the released models plus their cards and reports,
    not resumable training state or uncompressed per-problem reports."""
    from pathlib import Path

    import pytest

    root = Path(__file__).resolve().parents[1]
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, timeout=60)
    if listing.returncode != 0:
        pytest.skip("not a git checkout")
    names = [name for name in listing.stdout.decode().split("\0") if name]
    total = sum((root / name).stat().st_size for name in names if (root / name).is_file())
    assert total < 30_000_000, f"tracked files hold {total:,} bytes"


COMMAND_MODULES = {  # a command's own module (its argparse and main) and the helpers only commands use
    "tinygpt.cli", "tinygpt.__main__", "tinygpt.generate_command", "tinygpt.train_command", "tinygpt.eval_options",
    "tinygpt.prepare", "tinygpt.evaluate", "tinygpt.eval_functions", "tinygpt.eval_suite", "tinygpt.eval_humaneval",
    "tinygpt.bench", "tinygpt.export", "tinygpt.contamination", "tinygpt.exercises.build", "tinygpt.exercises.mine",
    "tinygpt.serve.command",
}


def imports_of(name: str) -> set[str]:
    """The modules `name` imports (absolute names; `from X import y` counts as X and X.y), read from its source."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(name)
    package = name if spec.submodule_search_locations is not None else name.rsplit(".", 1)[0]
    imported = set()
    for node in ast.walk(ast.parse(open(spec.origin, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module
            imported |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return imported


def test_the_library_imports_no_command_line():
    """The model, training, generation, evaluation engine and playground import neither argparse nor a command
    module: a request becomes the API's config in the API, not through an argument parser."""
    import pkgutil

    import tinygpt

    assert {"argparse", "tinygpt.cli"} <= imports_of("tinygpt.prepare")  # the check sees what a command imports
    assert "tinygpt.serve.app" in imports_of("tinygpt.serve")  # and resolves a package's relative imports
    offenders = [f"{name} imports {module}" for info in pkgutil.walk_packages(tinygpt.__path__, "tinygpt.")
                 if (name := info.name) not in COMMAND_MODULES
                 for module in sorted(imports_of(name)) if module == "argparse" or module in COMMAND_MODULES]
    assert offenders == []
