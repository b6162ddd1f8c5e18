"""What the fault-injection cases are made of (`fault_cases.py` lists them, `fault_injection.py` runs them): the
`Case` record, the tiny shared fixtures, and the helpers a case's setup and check are built from.

A case is a command line (`tinygpt` arguments, a root script such as `generate.py`, or `-c CODE` for the library
API), what it should do (`expect`), and optionally a `setup` that builds or damages files in the case's own
directory, a `check` of the output, paths that must come out unchanged (`protect`), shell redirections, stdin, and
signals to send once a marker appears. In arguments, `{case}` is the case's directory and `{NAME}` a fixture
(`Fixtures.values`). Every command runs with the case's directory as its working directory, so a default output
path (`data/...`, `runs/tinygpt`, `models/NAME`) lands there, never in the repository.

expect: "error" (a clean one-line error), "ok" (exit 0 and the check passes), "either" (either of those: an I/O fault
where stopping with one line and carrying on are both right), "signal" (exit 128 + signal, no traceback, a last line
saying it stopped), "pipe" (a reader that left: exit 0 or 141, nothing on stderr).
"""

from __future__ import annotations

import json
import os
import shutil
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.helpers import rewrite_safetensors_header

REPO = Path(__file__).resolve().parents[2]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
SHIPPED = REPO / "models" / "tinygpt-stdlib" / "model.safetensors"  # read only
STDLIB_FILES = ["bisect.py", "heapq.py", "textwrap.py", "shlex.py", "string.py", "abc.py", "colorsys.py",
                "keyword.py", "glob.py", "fnmatch.py", "copy.py", "numbers.py"]
TRAIN_FLAGS = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--batch_size=2", "--warmup_steps=2",
               "--eval_interval=3", "--eval_batches=1", "--checkpoint_interval=3", "--progress=false"]
PROBLEM = {"task_id": "HumanEval/0", "prompt": 'def add(a, b):\n    """Return a + b."""\n',
           "canonical_solution": "    return a + b\n", "entry_point": "add",
           "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}

Setup = Callable[["Fixtures", Path], object]
Check = Callable[["Fixtures", Path, str], "str | None"]


@dataclass
class Case:
    name: str
    argv: list[str]
    expect: str = "error"
    setup: Setup | None = None  # may return a cleanup callable, run after the command
    check: Check | None = None  # None when the output is right, else what is wrong ("DATA LOST ..." counts as such)
    shell: str = ""  # bash redirections after the command: "2>&-", "> /dev/full", "| head -c 1"
    stdin: bytes | None = b""  # None: stdin is /dev/null
    protect: tuple[str, ...] = ()  # paths that must be byte-identical afterwards
    timeout: float = 60.0
    quick: bool = False
    signals: tuple[str, ...] = ()  # sent, in order, once `marker` is seen
    marker: str = ""  # "file:PATH", "stderr:TEXT" or "stdout:TEXT"
    readonly: bool = False  # run in a user namespace, so that a mode-555 directory refuses writes even to root
    codes: tuple[int, ...] | None = None  # accepted exit statuses, if not the expectation's usual ones
    lines: int | None = 1  # lines an error prints on stderr (None: not counted, e.g. stderr closed)
    max_file_bytes: int | None = None  # RLIMIT_FSIZE: a write past it fails (EFBIG), as on a full disk


@dataclass
class Fixtures:
    root: Path
    shared: Path
    values: dict[str, str] = field(default_factory=dict)

    def format(self, text: str, case_dir: Path) -> str:
        for name, value in {**self.values, "case": str(case_dir)}.items():
            text = text.replace("{" + name + "}", value)
        return text

    def path(self, name: str) -> Path:
        return Path(self.values[name])


def make_fixtures(root: Path) -> Fixtures:
    """The shared, read-only fixtures: source files, a prepared dataset, a trained run, a release (from a second run),
    the release exported for Hugging Face, a NaN copy of it, task and problem files."""
    from safetensors.numpy import load_file

    from tinygpt.cli.prepare import main as prepare_main
    from tinygpt.cli.train import main as train_main
    from tinygpt.hf.export import export_hf

    shared = root / "shared"
    src, data, run, release = shared / "src", shared / "data", shared / "run", shared / "release"
    src.mkdir(parents=True)
    for name in STDLIB_FILES:
        shutil.copyfile(STDLIB / name, src / name)
    bigsrc = shared / "bigsrc"  # enough text that training a tokenizer on it takes a few seconds: signals land
    bigsrc.mkdir()
    for path in [p for p in sorted(STDLIB.glob("*.py")) if p.stat().st_size < 100_000][:80]:
        shutil.copyfile(path, bigsrc / path.name)
    prepare_args = ["--source", str(src), "--out", str(data), "--vocab-size", "300", "--val-fraction", "0.3",
                    "--no-benchmark-check"]
    if prepare_main(prepare_args) != 0:
        raise RuntimeError("fixtures: prepare failed")
    flags = [f"--data_dir={data}", *TRAIN_FLAGS, "--max_steps=6"]
    if train_main([*flags, f"--out_dir={run}"]) or train_main([*flags, f"--out_dir={shared / 'run2'}",
                                                               f"--release_dir={release}"]):
        raise RuntimeError("fixtures: train failed")
    export_hf(release / "model.safetensors", shared / "hf")
    nan = shared / "nan"
    nan.mkdir()
    shutil.copyfile(release / "tokenizer.json", nan / "tokenizer.json")
    tensors = load_file(str(release / "model.safetensors"))
    document = checkpoint_document(release / "model.safetensors")
    first = sorted(tensors)[0]
    tensors[first] = tensors[first].copy()
    tensors[first].flat[0] = np.nan
    write_checkpoint(nan / "model.safetensors", tensors, document)
    suite = (REPO / "tinygpt" / "tasks" / "suite.jsonl").read_text(encoding="utf-8")
    (shared / "tasks.jsonl").write_text("".join(suite.splitlines(keepends=True)[:2]), encoding="utf-8")
    (shared / "problems.jsonl").write_text(json.dumps(PROBLEM) + "\n", encoding="utf-8")
    values = {"src": src, "bigsrc": bigsrc, "data": data, "run": run, "rel": release,
              "ckpt": release / "model.safetensors", "tok": release / "tokenizer.json", "hf": shared / "hf",
              "nan": nan / "model.safetensors", "tasks": shared / "tasks.jsonl", "problems": shared / "problems.jsonl",
              "stdlib": STDLIB, "shipped": SHIPPED}
    return Fixtures(root, shared, {name: str(value) for name, value in values.items()})


# ---- setup helpers: each returns setup(fixtures, case_dir) ----------------------------------------------------------

def checkpoint_document(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return json.loads(handle.metadata()["tinygpt"])


def write_checkpoint(path: Path, tensors: dict, document: dict | str) -> None:
    from safetensors.numpy import save_file

    text = document if isinstance(document, str) else json.dumps(document)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path), metadata={"tinygpt": text})


def steps(*setups: Setup) -> Setup:
    def setup(fx: Fixtures, d: Path):
        cleanups = [s(fx, d) for s in setups]
        return next((c for c in reversed(cleanups) if callable(c)), None)
    return setup


def write(name: str, content: str | bytes) -> Setup:
    def setup(fx: Fixtures, d: Path):
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return setup


def copy(fixture: str, name: str) -> Setup:
    """Copy a fixture (file or directory) to CASE/name."""
    def setup(fx: Fixtures, d: Path):
        source, target = fx.path(fixture), d / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, target)
    return setup


def remove(name: str) -> Setup:
    def setup(fx: Fixtures, d: Path):
        path = d / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    return setup


def truncate(name: str, keep: float | int) -> Setup:
    """Cut CASE/name to `keep` bytes (an int) or that share of its size (a float)."""
    def setup(fx: Fixtures, d: Path):
        path = d / name
        size = path.stat().st_size
        os.truncate(path, keep if isinstance(keep, int) else int(size * keep))
    return setup


def edit_json(name: str, change: Callable[[object], object]) -> Setup:
    """Apply `change` to the JSON in CASE/name (it may mutate the document and return None, or return a new one)."""
    def setup(fx: Fixtures, d: Path):
        path = d / name
        document = json.loads(path.read_text(encoding="utf-8"))
        changed = change(document)
        path.write_text(json.dumps(document if changed is None else changed), encoding="utf-8")
    return setup


def edit_checkpoint(name: str, document: Callable[[dict], object] | None = None,
                    tensors: Callable[[dict], object] | None = None) -> Setup:
    def setup(fx: Fixtures, d: Path):
        from safetensors.numpy import load_file

        path = d / name
        arrays, meta = load_file(str(path)), checkpoint_document(path)
        if tensors:
            tensors(arrays)
        if document:
            changed = document(meta)
            meta = meta if changed is None else changed
        write_checkpoint(path, arrays, meta)
    return setup


def edit_header(name: str, change: Callable[[dict], object]) -> Setup:
    """Apply `change` to the safetensors header of CASE/name in place (it mutates the header); the tensor data stays
    as it was, so the header may claim what the data cannot hold."""
    def setup(fx: Fixtures, d: Path):
        rewrite_safetensors_header(d / name, change)
    return setup


def readonly(name: str) -> Setup:
    def setup(fx: Fixtures, d: Path):
        path = d / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o555)
        return lambda: path.chmod(0o755)
    return setup


def unreadable(name: str) -> Setup:
    """Make the directory CASE/name unlistable (mode 000) while the command runs; the case needs `readonly=True`,
    so that the mode holds for root too."""
    def setup(fx: Fixtures, d: Path):
        path = d / name
        path.chmod(0o000)
        return lambda: path.chmod(0o755)
    return setup


def fifo(name: str) -> Setup:
    def setup(fx: Fixtures, d: Path):
        os.mkfifo(d / name)
    return setup


def hold_lock(name: str) -> Setup:
    """Hold the training lock on CASE/name, as a live run would, while the command runs."""
    def setup(fx: Fixtures, d: Path):
        from tinygpt.outputs import DirectoryLock

        lock = DirectoryLock(d / name, "--out_dir").__enter__()
        return lambda: lock.__exit__(None, None, None)
    return setup


def char_tokenizer(name: str, chars: str, special_tokens: list[str]) -> Setup:
    document = {"format": "tinytorch.text.CharTokenizer", "version": 1, "special_tokens": special_tokens,
                "chars": chars}
    return write(name, json.dumps(document))


def config_over_val_split(name: str) -> Setup:
    """The tiny train config, with a block_size one more than the fixture dataset's val split (the train split is
    longer)."""
    def setup(fx: Fixtures, d: Path):
        meta = json.loads((fx.path("data") / "meta.json").read_text())
        config = {key: json.loads(value) if value[0].isdigit() else value
                  for key, _, value in (flag[2:].partition("=") for flag in TRAIN_FLAGS)}
        config |= {"block_size": meta["splits"]["val"]["tokens"] + 1, "max_steps": 3, "progress": False}
        (d / name).write_text(json.dumps(config))
    return setup


def set_key(path: str, value) -> Callable[[dict], None]:
    """Set a key of a JSON document; `a.b` is key b inside key a."""
    *parents, key = path.split(".")

    def change(document: dict) -> None:
        for parent in parents:
            document = document[parent]
        document[key] = value
    return change


def del_key(key: str) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        del document[key]
    return change


# ---- checks: each returns check(fixtures, case_dir, stdout) -> problem or None ------------------------------------

def exists(*names: str) -> Check:
    def check(fx: Fixtures, d: Path, stdout: str):
        missing = [n for n in names if not Path(fx.format(n, d)).exists()]
        return f"missing output {missing}" if missing else None
    return check


def absent(*names: str) -> Check:
    def check(fx: Fixtures, d: Path, stdout: str):
        present = [n for n in names if Path(fx.format(n, d)).exists()]
        return f"still present: {present}" if present else None
    return check


def prints(text: str) -> Check:
    return lambda fx, d, stdout: None if text in stdout else f"stdout lacks {text!r}: {stdout.strip()[-120:]!r}"


def json_value(name: str, key: str, expected) -> Check:
    """The JSON file CASE/name holds `expected` at `key` (`a.b` is key b inside key a)."""
    def check(fx: Fixtures, d: Path, stdout: str):
        value = json.loads((d / name).read_text(encoding="utf-8"))
        for part in key.split("."):
            value = value[part]
        return None if value == expected else f"{name}: {key} is {value!r}, expected {expected!r}"
    return check


def prepared_files(name: str, count: int) -> Check:
    """The dataset CASE/name holds `count` source files, its splits together."""
    def check(fx: Fixtures, d: Path, stdout: str):
        splits = json.loads((d / name / "meta.json").read_text(encoding="utf-8"))["splits"]
        held = sum(split["files"] for split in splits.values())
        return None if held == count else f"{name} holds {held} files, expected {count}"
    return check


def no_nul(fx: Fixtures, d: Path, stdout: str) -> str | None:
    return "NUL bytes in the output" if "\0" in stdout else None


def saved_checkpoint(name: str, minimum_step: int) -> Check:
    """A signal left a readable checkpoint of at least `minimum_step`, all weights finite."""
    def check(fx: Fixtures, d: Path, stdout: str):
        from safetensors.numpy import load_file

        path = d / name
        if not path.exists():
            return f"DATA LOST: no checkpoint at {name}"
        step = checkpoint_document(path).get("step", -1)
        finite = all(np.isfinite(a).all() for k, a in load_file(str(path)).items() if k.startswith("model."))
        return None if step >= minimum_step and finite else f"DATA LOST: checkpoint step {step}, finite {finite}"
    return check


def both(*checks: Check) -> Check:
    def check(fx: Fixtures, d: Path, stdout: str):
        return next((p for c in checks if (p := c(fx, d, stdout))), None)
    return check


def absent_temporaries(name: str = "") -> Check:
    """No temporary file of an atomic write is left in CASE/name (the case's directory itself by default)."""
    def check(fx: Fixtures, d: Path, stdout: str):
        leftovers = [p.name for p in (d / name).iterdir() if ".tmp-" in p.name or ".old-" in p.name]
        return f"temporary files left: {leftovers}" if leftovers else None
    return check


def bf16_file() -> bytes:
    header = json.dumps({"transformer.wte.weight": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}})
    header += " " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header.encode() + b"\0" * 8
