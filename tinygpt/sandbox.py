"""Run untrusted Python (a model's completion followed by its tests) in a separate, limited process.

    result = run_program(completion + "\\n" + tests, SandboxLimits(timeout_s=5))
    result.status   # "passed", "failed", "timeout" or "error"
    result.reason   # one line: why ("AssertionError at `assert is_even(3) is False`", "timed out after 5 s", ...)

What keeps a bad completion from hurting the machine or the measurement:
- a separate process, `python -I` (isolated: no user site-packages, no PYTHON* variables, no current directory on
  sys.path), in a session of its own so that it and anything it started can be killed together;
- a fresh, empty temporary working directory, removed afterwards; no stdin; an environment holding only PATH,
  LC_ALL, HOME and TMPDIR (both the working directory);
- limits set inside the child before the program runs: address space (RLIMIT_AS: a memory bomb gets MemoryError),
  CPU seconds (RLIMIT_CPU), the size of any file written (RLIMIT_FSIZE: a huge file gets "File too large"; stdout
  and stderr go to files, so a print loop is capped too), processes (RLIMIT_NPROC 0, which the kernel ignores for
  root, so os.fork, subprocess and the exec/spawn family also raise PermissionError, as do the functions that
  delete, rename or re-permission files);
- a wall-clock timeout, after which the whole process group is killed;
- a pass must be earned: a line printing a random sentinel is appended after the tests, and the program passes only
  if it exits with status 0 *and* printed the sentinel, so `sys.exit(0)` or `os._exit(0)` before the tests fail.

This is a guard against a small model's accidents, not a security boundary: Python code that sets out to escape
(ctypes, writing over a file it can open) can. Run evaluations of untrusted models in a container or a VM.
"""

from __future__ import annotations

import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATUSES", "SandboxLimits", "SandboxResult", "run_program"]

STATUSES = ("passed", "failed", "timeout", "error")

# Runs in the child before the program: limits first, then the guards, then the program as __main__.
BOOTSTRAP = """
import os, posix, resource, sys, _posixsubprocess
program, memory_bytes, cpu_seconds, file_bytes = sys.argv[1], *map(int, sys.argv[2:5])
for limit, soft, hard in ((resource.RLIMIT_AS, memory_bytes, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds,
                          cpu_seconds + 1), (resource.RLIMIT_FSIZE, file_bytes, file_bytes),
                          (resource.RLIMIT_NPROC, 0, 0), (resource.RLIMIT_CORE, 0, 0)):
    ceiling = resource.getrlimit(limit)[1]  # a limit can only be lowered: stay under an existing hard limit
    if ceiling != resource.RLIM_INFINITY:
        soft, hard = min(soft, ceiling), min(hard, ceiling)
    resource.setrlimit(limit, (soft, hard))

def refuse(*args, **kwargs):
    raise PermissionError("the sandbox does not allow starting processes or changing files outside open()")

for name in ("fork", "forkpty", "vfork", "system", "popen", "kill", "killpg", "posix_spawn", "posix_spawnp",
             "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "spawnl", "spawnle",
             "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe", "remove", "unlink", "rmdir",
             "removedirs", "rename", "renames", "replace", "chmod", "chown", "lchown", "truncate", "setuid"):
    for module in (os, posix):
        if hasattr(module, name):
            setattr(module, name, refuse)
_posixsubprocess.fork_exec = refuse
sys.argv = [program]
with open(program, encoding="utf-8") as file:
    code = compile(file.read(), program, "exec")
exec(code, {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__})
"""

SIGNAL_MEANINGS = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}


@dataclass(frozen=True)
class SandboxLimits:
    """timeout_s: wall clock; memory_mb: address space; max_file_bytes: any file written, stdout and stderr
    included; output_chars: how much of stdout and stderr is kept in the result."""

    timeout_s: float = 5.0
    memory_mb: int = 1024
    max_file_bytes: int = 1 << 20
    output_chars: int = 2000

    def validate(self) -> None:
        for name in ("timeout_s", "memory_mb", "max_file_bytes", "output_chars"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SandboxResult:
    status: str  # one of STATUSES
    reason: str  # one line
    output: str  # the end of stdout, then the end of stderr, truncated to output_chars
    returncode: int | None  # None after a timeout


def read_tail(path: Path, characters: int) -> str:
    with open(path, "rb") as file:
        file.seek(max(path.stat().st_size - 4 * characters, 0))
        return file.read().decode("utf-8", errors="replace")[-characters:]


def failing_source_line(stderr: str) -> str:
    """The source line of the innermost traceback frame: what the error points at."""
    lines = stderr.splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    if not frames or frames[-1] + 1 >= len(lines) or lines[frames[-1] + 1].startswith(("  File", "Traceback")):
        return ""
    return lines[frames[-1] + 1].strip()


def classify(returncode: int, stdout: str, stderr: str, sentinel: str) -> tuple[str, str]:
    """(status, reason) of a program that exited on its own."""
    if returncode == 0 and stdout.rstrip().endswith(sentinel):
        return "passed", "ran to the end"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return "error", f"killed by {name}{SIGNAL_MEANINGS.get(name, '')}"
    last_line = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    if returncode == 0 or not last_line:
        return "failed", f"exited with status {returncode} before its tests finished"
    source = failing_source_line(stderr)
    reason = f"{last_line} at `{source}`" if source else last_line
    return ("failed" if last_line.startswith("AssertionError") else "error"), reason[:300]


def run_program(program: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run `program` in a limited child process (see the module docstring). It passes if it runs to its end: write
    the tests as `assert` statements (or code that raises) after the code under test."""
    limits = limits or SandboxLimits()
    limits.validate()
    sentinel = f"sandbox-finished-{secrets.token_hex(8)}"
    with tempfile.TemporaryDirectory(prefix="tinygpt-sandbox-", ignore_cleanup_errors=True) as root:
        root_path = Path(root)
        workdir = root_path / "work"
        workdir.mkdir()
        program_path = root_path / "program.py"
        program_path.write_text(f"{program}\n\nprint({sentinel!r}, flush=True)\n", encoding="utf-8")
        command = [sys.executable, "-I", "-c", BOOTSTRAP, str(program_path), str(limits.memory_mb << 20),
                   str(math.ceil(limits.timeout_s) + 1), str(limits.max_file_bytes)]
        environment = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "HOME": str(workdir), "TMPDIR": str(workdir)}
        with open(root_path / "stdout", "wb") as stdout, open(root_path / "stderr", "wb") as stderr:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, cwd=workdir,
                                       env=environment, start_new_session=True)
            try:
                returncode = process.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                returncode = None
            finally:
                kill_group(process)
        stdout_text = read_tail(root_path / "stdout", limits.output_chars)
        stderr_text = read_tail(root_path / "stderr", limits.output_chars)
    output = (stdout_text + stderr_text)[-limits.output_chars:]
    if returncode is None:
        return SandboxResult("timeout", f"timed out after {limits.timeout_s:g} s (wall clock)", output, None)
    status, reason = classify(returncode, stdout_text, stderr_text, sentinel)
    return SandboxResult(status, reason, output.replace(sentinel, "").rstrip(), returncode)


def kill_group(process: subprocess.Popen) -> None:
    """Kill the child's whole process group (it and anything it managed to start), then reap the child."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
