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
