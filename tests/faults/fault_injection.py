"""Fault injection across the `tinygpt` commands and the root scripts: bad arguments, non-finite and out-of-range
values, corrupt, missing and truncated files (checkpoints, tokenizer JSON, meta.json, config files, Hugging Face
directories), I/O faults (output under a file, a read-only directory, /dev/full, closed stdin/stdout/stderr, a
broken pipe), signals during prepare and train, and huge inputs that used to hang. Each case runs in its own
subprocess with a timeout and is reported as one of:

    error       a clean one-line error: exit status 1 or 2 (or the case's own), exactly one line on stderr (progress
                bars and `note:` lines aside), no traceback
    ok          correct behaviour: the exit status the case expects, and its check of the output passed
    TRACEBACK   "Traceback" on stderr or stdout
    HANG        still running at the case's timeout (killed)
    SILENT      exit 0 where the input is nonsense and an error was expected
    DATA LOST   a file that existed before the case (a dataset, a checkpoint, a user's file) changed or vanished
    WRONG       anything else unexpected: a messy error (several lines, another exit status), a valid input refused,
                an output that fails its check
    skipped     a read-only-directory case run as root where no user namespace is available (root writes anywhere)

Run it from anywhere (it finds the repository from its own path); it never writes outside a temporary directory:

    nice -n 19 env OPENBLAS_NUM_THREADS=1 python tests/faults/fault_injection.py              # every case, minutes
    nice -n 19 env OPENBLAS_NUM_THREADS=1 python tests/faults/fault_injection.py --quick      # a subset, < 1 minute
    python tests/faults/fault_injection.py --json out.json --jobs 2 --only generate/ --keep

The tiny fixtures (a dataset prepared from a dozen standard-library files, a 1-layer model trained on it for a few
steps and its release, that release exported as a Hugging Face directory, task files; `fault_fixtures.py`) are made
once in the temporary directory; each case gets a directory of its own beside them, and its setup copies and damages
what it needs there. The cases themselves are `fault_cases.py`, one small declarative entry each. Each case runs with
a 4 GiB address-space limit, so that a runaway allocation fails instead of taking the machine, and a case may add a
file-size limit: a write past it fails as on a full disk (a full disk is never faked by passing /dev/full as an
output path, which a library that renames a temporary file over its target would replace). The runner also checks
that no case changed the shared fixtures or the repository's models/ and data/stdlib/. Exit status: 0 when no case is
a TRACEBACK, HANG, SILENT, DATA LOST or WRONG, else 1.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import io
import json
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(Path(__file__).resolve().parent)]

from fault_cases import CASES  # noqa: E402
from fault_fixtures import Case, Fixtures, make_fixtures  # noqa: E402
from tqdm import tqdm  # noqa: E402

GOOD = ("error", "ok", "skipped")
FAILURES = ("TRACEBACK", "HANG", "SILENT", "DATA LOST", "WRONG")
MEMORY_LIMIT_BYTES = 4 << 30  # address space per case: a runaway allocation fails instead of taking the machine
PROGRESS_BAR = re.compile(r"^.*\[(\d+:)?\d+:\d\d(<[^\]]*)?(, [^\]]*)?\]")  # tqdm: "... 3/9 [00:01<00:02, 3.1it/s]"


@dataclass
class Result:
    name: str
    outcome: str
    detail: str
    returncode: int | None
    seconds: float
    command: str


def message_lines(stderr: str) -> list[str]:
    """The lines of stderr a person reads as messages: the last state of each `\\r`-rewritten line, without progress
    bars, blank lines and `note:` lines."""
    lines = []
    for line in stderr.split("\n"):
        segments = [text for s in line.split("\r") if (text := PROGRESS_BAR.sub("", s).strip())]
        if segments and "note:" not in segments[-1]:
            lines.append(segments[-1])
    return lines


def tree_digest(path: Path) -> str | None:
    """A fingerprint of a file, or of every file under a directory (names and bytes); None when it is absent."""
    if not path.exists():
        return None
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(f"{file.relative_to(path) if file != path else ''}\0".encode())
        with contextlib.suppress(OSError):
            digest.update(file.read_bytes())
    return digest.hexdigest()


def command_line(case: Case, fixtures: Fixtures, case_dir: Path) -> str:
    """The bash command of a case: `python -m tinygpt ARGS`, `python SCRIPT.py ARGS` for a root script or
    `python -c CODE` for an API case, then its redirections; `exec` where there is no pipe, so that signals reach
    Python itself, and the Python process's exit status either way."""
    argv = [fixtures.format(arg, case_dir) for arg in case.argv]
    if argv and argv[0].endswith(".py"):
        program = [sys.executable, str(REPO / argv[0]), *argv[1:]]
    elif argv and argv[0] == "-c":
        program = [sys.executable, *argv]
    else:
        program = [sys.executable, "-m", "tinygpt", *argv]
    prefix = ["unshare", "--user"] if case.readonly and os.geteuid() == 0 else []  # see `read_only_possible`
    line = shlex.join([*prefix, *program])
    shell = fixtures.format(case.shell, case_dir)
    if "|" in shell:
        return f"{line} {shell}; exit ${{PIPESTATUS[0]}}"
    return f"exec {line} {shell}"


def limit_resources(max_file_bytes: int | None) -> None:
    """The case's limits, set in its process before the command starts: address space, and file size where the case
    asks for one (Python ignores SIGXFSZ, so a write past it fails with EFBIG instead of killing the process)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    if max_file_bytes is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))


def read_into(stream, chunks: list[bytes]) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):
        chunks.append(chunk)


def run_process(case: Case, fixtures: Fixtures, case_dir: Path, command: str) -> tuple[int | None, str, str, bool]:
    """Run the command (sending the case's signals once its marker appears); (exit status, stdout, stderr, timed
    out). The exit status of a process killed by a signal is 128 + the signal, as a shell reports it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", str(case_dir)),
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}
    if case.max_file_bytes is not None:  # Python would write the repository's .pyc files cut at the limit
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    process = subprocess.Popen(["bash", "-c", command], cwd=case_dir, env=env, start_new_session=True,
                               stdin=subprocess.PIPE if case.stdin is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=functools.partial(limit_resources, case.max_file_bytes))
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    readers = [threading.Thread(target=read_into, args=(process.stdout, out_chunks), daemon=True),
               threading.Thread(target=read_into, args=(process.stderr, err_chunks), daemon=True)]
    for reader in readers:
        reader.start()
    if case.stdin is not None:
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.write(case.stdin)
        with contextlib.suppress(BrokenPipeError, OSError):
            process.stdin.close()
    deadline = time.monotonic() + case.timeout
    pending = list(case.signals)
    marker = fixtures.format(case.marker, case_dir) if case.marker else ""
    while process.poll() is None and time.monotonic() < deadline:
        if pending and marker_seen(marker, b"".join(err_chunks), b"".join(out_chunks)):
            for name in pending:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, getattr(signal, name))
                time.sleep(0.05)
            pending = []
        time.sleep(0.02)
    timed_out = process.poll() is None
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for reader in readers:
        reader.join(timeout=5)
    code = process.returncode
    code = 128 - code if code is not None and code < 0 else code
    decode = lambda chunks: b"".join(chunks).decode("utf-8", errors="replace")  # noqa: E731
    return code, decode(out_chunks), decode(err_chunks), timed_out


def marker_seen(marker: str, stderr: bytes, stdout: bytes) -> bool:
    """`file:PATH` exists, `stderr:TEXT` or `stdout:TEXT` was printed; an empty marker is seen at once."""
    kind, _, value = marker.partition(":")
    if kind == "file":
        return Path(value).exists()
    if kind == "stderr":
        return value.encode() in stderr
    if kind == "stdout":
        return value.encode() in stdout
    return True


def classify(case: Case, code: int | None, stdout: str, stderr: str, timed_out: bool, lost: list[str],
             problem: str | None) -> tuple[str, str]:
    """(outcome, detail) of a finished case; see the module docstring for the classes."""
    lines = message_lines(stderr)
    first = lines[0][:250] if lines else ""
    if timed_out:
        return "HANG", f"killed after {case.timeout:g} s"
    if "Traceback" in stderr or "Traceback" in stdout:
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or ["(on stdout)"]
        return "TRACEBACK", last[0][:300]
    if lost:
        return "DATA LOST", "changed: " + ", ".join(lost)
    if case.expect == "error" and code == 0:
        return "SILENT", f"exit 0 on nonsense; stdout: {stdout.strip()[-120:]!r}"
    codes = case.codes or {"error": (1, 2), "ok": (0,), "either": (0, 1, 2), "signal": (130, 143),
                           "pipe": (0, 141)}[case.expect]
    if code not in codes:
        return "WRONG", f"exit {code}, expected {' or '.join(map(str, codes))}: {first}"
    if problem:
        return "WRONG", problem
    if case.expect == "pipe":
        return ("ok", "ended quietly") if not lines else ("WRONG", f"stderr: {first}")
    if case.expect == "signal":
        said_stopped = not lines or "stop" in lines[-1]
        return ("ok", lines[-1][:250] if lines else "") if said_stopped and len(lines) <= 2 else \
            ("WRONG", " | ".join(lines)[:250])
    if code == 0 or case.expect == "ok":
        return "ok", (stdout.strip().splitlines() or [""])[-1][:200]
    if case.lines is not None and len(lines) != case.lines:
        return "WRONG", f"{len(lines)} lines on stderr: {' | '.join(lines)[:250]}"
    return "error", first


@functools.cache
def read_only_possible() -> bool:
    """Whether a mode-555 directory refuses writes to the cases: always for a normal user; for root only inside a
    user namespace (`unshare --user`), where root's files are owned by an unmapped user and their mode applies."""
    if os.geteuid() != 0:
        return True
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "--user", "true"]).returncode == 0


def run_case(case: Case, fixtures: Fixtures) -> Result:
    if case.readonly and not read_only_possible():
        return Result(case.name, "skipped", "root without user namespaces: a read-only directory is writable", None,
                      0.0, "")
    case_dir = fixtures.root / "cases" / case.name.replace("/", "__")
    case_dir.mkdir(parents=True)
    cleanup = case.setup(fixtures, case_dir) if case.setup else None
    try:
        protected = {p: tree_digest(Path(fixtures.format(p, case_dir))) for p in case.protect}
        command = command_line(case, fixtures, case_dir)
        start = time.perf_counter()
        code, stdout, stderr, timed_out = run_process(case, fixtures, case_dir, command)
        seconds = time.perf_counter() - start
    finally:
        if callable(cleanup):
            cleanup()
    lost = [p for p, digest in protected.items() if tree_digest(Path(fixtures.format(p, case_dir))) != digest]
    problem = None
    if case.check and not timed_out:
        try:
            problem = case.check(fixtures, case_dir, stdout)
        except Exception as err:  # a check that cannot read the output: the output is wrong
            problem = f"check failed: {type(err).__name__}: {err}"
    if problem and problem.startswith("DATA LOST"):
        lost.append(problem)
    outcome, detail = classify(case, code, stdout, stderr, timed_out, lost, problem)
    return Result(case.name, outcome, detail, code, round(seconds, 2), command.replace(str(fixtures.root), "$T"))


def repository_snapshot() -> dict[str, tuple[int, int]]:
    """Size and mtime of every file under models/ and data/stdlib/: the cases must leave them alone."""
    files = [p for top in ("models", "data/stdlib") for p in (REPO / top).rglob("*") if p.is_file()]
    return {str(p.relative_to(REPO)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the cases marked quick (under a minute)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write every case's result here")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default: 2)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only cases whose name contains TEXT (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    duplicated = [name for name, count in Counter(case.name for case in CASES).items() if count > 1]
    if duplicated:
        raise SystemExit(f"fault_cases.py: duplicate case names {duplicated}")
    cases = [c for c in CASES if (c.quick or not args.quick) and (not args.only or any(t in c.name for t in args.only))]
    root = Path(tempfile.mkdtemp(prefix="tinygpt-faults-"))
    try:
        results = run_all(cases, root, args.jobs)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        counts = Counter(r.outcome for r in results)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        document = {"counts": {name: counts.get(name, 0) for name in (*GOOD, *FAILURES)},
                    "cases": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return 1 if any(r.outcome in FAILURES for r in results) else 0


def run_all(cases: list[Case], root: Path, jobs: int) -> list[Result]:
    """Make the fixtures, run the cases `jobs` at a time, check that nothing shared was touched, print the report."""
    before = repository_snapshot()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        fixtures = make_fixtures(root)
    fixture_seconds = time.perf_counter() - start
    fixture_digest = tree_digest(fixtures.shared)
    with ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run_case, case, fixtures) for case in cases]
        results = [future.result() for future in tqdm(futures, desc="fault injection", unit="case")]
    if tree_digest(fixtures.shared) != fixture_digest:
        results.append(Result("runner/shared-fixtures-intact", "DATA LOST", "a case changed the shared fixtures",
                              None, 0.0, ""))
    after = repository_snapshot()
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    if changed:
        results.append(Result("runner/repository-untouched", "DATA LOST", ", ".join(changed[:5]), None, 0.0, ""))
    report(results, time.perf_counter() - start, fixture_seconds)
    return results


def report(results: list[Result], seconds: float, fixture_seconds: float) -> None:
    """The failures, one line each, then the count of each class."""
    width = max(len(r.name) for r in results)
    for result in results:
        if result.outcome in FAILURES:
            print(f"{result.outcome:<10} {result.name:<{width}}  {result.detail}\n{'':<10} {'':<{width}}  "
                  f"$ {result.command[:400]}")
    counts = Counter(r.outcome for r in results)
    print(f"\n{len(results)} cases in {seconds:.0f} s (fixtures {fixture_seconds:.0f} s): "
          + ", ".join(f"{name} {counts.get(name, 0)}" for name in (*GOOD, *FAILURES)))


if __name__ == "__main__":
    sys.exit(main())
