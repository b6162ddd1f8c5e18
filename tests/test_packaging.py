"""Product code never imports torch or transformers: every module of both packages imports with them blocked, but for
the scale-out path (`tinygpt.scale`, the `scale` extra), which only its command imports, and the benchmark's PyTorch
side (`tinygpt.bench.torch_reference`, the `bench` extra), which only the benchmark imports; a clone stays light (the
tracked files under 30 MB); and tinygpt's imports run one way, down the floors of `tinygpt.LAYERS`, with nothing
loaded by file path."""

import subprocess
import sys

CODE = """
import importlib, pkgutil, sys
sys.modules["torch"] = None
sys.modules["transformers"] = None
import tinygpt, tinytorch
for package in (tinytorch, tinygpt):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not module.name.endswith("__main__") and not module.name.startswith("tinygpt.scale.") \
                and module.name != "tinygpt.bench.torch_reference":
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


def is_command_line(module: str) -> bool:
    """The command line: `tinygpt.cli` and its modules (one per command, with their argparse), and `__main__`."""
    return module in ("tinygpt.cli", "tinygpt.__main__") or module.startswith("tinygpt.cli.")


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
    from tinygpt.cli import COMMANDS

    assert "argparse" in imports_of("tinygpt.cli")  # the check sees what the command line imports
    assert "tinygpt.cli" in imports_of("tinygpt.cli.prepare")
    assert "tinygpt.serve.app" in imports_of("tinygpt.serve")  # and resolves a package's imports
    assert all(is_command_line(module) for module, _ in COMMANDS.values())  # every command lives in tinygpt.cli
    offenders = [f"{name} imports {module}" for info in pkgutil.walk_packages(tinygpt.__path__, "tinygpt.")
                 if not is_command_line(name := info.name)
                 for module in sorted(imports_of(name)) if module == "argparse" or is_command_line(module)]
    assert offenders == []


def test_only_the_scale_train_command_imports_the_scale_out_path():
    import pkgutil

    import tinygpt

    importers = {info.name for info in pkgutil.walk_packages(tinygpt.__path__, "tinygpt.")
                 if not info.name.startswith("tinygpt.scale")
                 and any(module.startswith("tinygpt.scale") for module in imports_of(info.name))}
    assert importers == {"tinygpt.cli.scale_train"}


def test_the_playground_is_an_extra_and_its_command_says_so():
    """`pip install -e .` runs the demo, training and every command but `serve`; without fastapi and uvicorn,
    `tinygpt serve` says what to install, on one line, and exits 1."""
    code = ("import sys; sys.modules['fastapi'] = sys.modules['uvicorn'] = None\n"
            "from tinygpt.cli import main; sys.exit(main(['serve', '--help']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "", result
    assert result.stderr.count("\n") == 1 and "tinygpt serve: error: needs" in result.stderr
    assert "tinytorch-tinygpt[serve]" in result.stderr


def test_only_the_benchmark_imports_its_pytorch_side():
    import pkgutil

    import tinygpt

    importers = {info.name for info in pkgutil.walk_packages(tinygpt.__path__, "tinygpt.")
                 if "tinygpt.bench.torch_reference" in imports_of(info.name)}
    assert importers == {"tinygpt.bench.settings"}


def part_of(module: str) -> str | None:
    """The part of tinygpt a module belongs to: the module or package directly under tinygpt/ (None: tinygpt)."""
    names = module.split(".")
    return names[1] if names[0] == "tinygpt" and len(names) > 1 else None


def upward_imports(imports: dict[str, set[str]], layers: tuple[tuple[str, ...], ...]) -> list[str]:
    """Each import of another part that is not on a floor below the importer's (an undeclared part counts)."""
    floor = {part: level for level, parts in enumerate(layers) for part in parts}
    return [f"{name} imports {module}" for name, modules in sorted(imports.items()) for module in sorted(modules)
            if (target := part_of(module)) not in (None, part_of(name))
            and floor.get(target, len(layers)) >= floor[part_of(name)]]


def tinygpt_imports() -> dict[str, set[str]]:
    """Every module of tinygpt and the modules it imports, anywhere in its source: inside functions too."""
    import pkgutil

    import tinygpt

    return {info.name: imports_of(info.name) for info in pkgutil.walk_packages(tinygpt.__path__, "tinygpt.")}


def test_tinygpt_imports_only_down_its_floors():
    """`tinygpt.LAYERS`, bottom floor first: a part imports only parts on floors below its own (its own modules aside),
    never one beside or above it, not even inside a function. Every part stands on exactly one floor."""
    from tinygpt import LAYERS

    imports = tinygpt_imports()
    declared = [part for parts in LAYERS for part in parts]
    assert len(declared) == len(set(declared))
    assert {part_of(name) for name in imports} == set(declared)  # every part declared, every declared part there
    assert imports_of("tinygpt") == set()  # importing any part runs tinygpt/__init__.py first: it imports nothing
    assert "tinygpt.sandbox" in imports["tinygpt.train.trainer"]  # the check sees an import inside a function
    assert upward_imports({"tinygpt.train.timeline": {"tinygpt.eval", "tinygpt.eval.bpb", "tinygpt.tasks"},
                           "tinygpt.model": {"tinygpt.generate"}}, LAYERS) == [
        "tinygpt.model imports tinygpt.generate", "tinygpt.train.timeline imports tinygpt.eval",
        "tinygpt.train.timeline imports tinygpt.eval.bpb"]  # and would see an import upward or beside
    assert upward_imports(imports, LAYERS) == []


def test_nothing_is_loaded_by_file_path_or_imported_from_outside_the_packages():
    """No module of tinytorch or tinygpt loads a module from a file path (importlib's file loaders, runpy) or imports
    the checkout's scripts (benchmarks/, tools/, examples/, tests/, the root's entry points)."""
    import ast
    import importlib.util
    import pkgutil
    from pathlib import Path

    import tinygpt
    import tinytorch

    root = Path(tinygpt.__file__).resolve().parents[1]
    loaders = {"spec_from_file_location", "module_from_spec", "exec_module", "SourceFileLoader", "run_path", "runpy"}
    scripts = {"benchmarks", "tools", "examples", "tests"}
    scripts |= {path.stem for folder in scripts for path in (root / folder).rglob("*.py")}
    scripts |= {path.stem for path in root.glob("*.py")}
    offenders = []
    for package in (tinytorch, tinygpt):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            tree = ast.parse(open(importlib.util.find_spec(info.name).origin, encoding="utf-8").read())
            for node in ast.walk(tree):
                named = {getattr(node, "attr", None), getattr(node, "id", None)} & loaders
                imported = {alias.name.split(".")[0] for alias in node.names} if isinstance(node, ast.Import) \
                    else {(node.module or "").split(".")[0]} if isinstance(node, ast.ImportFrom) and not node.level \
                    else set()
                offenders += [f"{info.name}: {name}" for name in sorted(named | (imported & (scripts | loaders)))]
    assert offenders == []
