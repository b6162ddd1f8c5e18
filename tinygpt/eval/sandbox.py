"""Run untrusted Python (a model's completion) against trusted tests, contained by the kernel, with a verdict the
completion cannot forge.

    result = run_tests(code, tests, SandboxLimits(timeout_s=5))
    result.status   # "passed", "failed", "timeout" or "error"
    result.reason   # one line: why ("AssertionError at `assert is_even(3) is False`", "timed out after 5 s", ...)

Containment: each run starts two sandboxes with bubblewrap (`bwrap`, Debian's `apt-get install bubblewrap`), one for
the candidate's code and one for the tests. Each gets
- new user, mount, PID, IPC, UTS and network namespaces (no network but a loopback of its own; no process outside
  is visible, so none can be signalled or traced), no capabilities, no new user namespaces inside;
- the root filesystem read-only; /home, /root, /run, /var, /mnt, /media, /srv and the user's home replaced by empty
  read-only folders (the Python installation bound back where it lived inside them); /etc/shadow and the other
  password and key files masked; a fresh /proc, a minimal /dev, both read-only; the only writable place is /tmp, the
  working directory: a private tmpfs of `scratch_bytes`;
- an empty environment (PATH, LC_ALL, HOME=/tmp, TMPDIR=/tmp), its own session (no terminal to write to), no stdin,
  stdout and stderr to in-memory files, and no other descriptor but its two pipes (below);
- a seccomp filter that refuses new processes (fork, vfork and clone without CLONE_THREAD: threads still work), since
  the kernel ignores RLIMIT_NPROC for root, as which CI and many containers run; `os.fork` and `subprocess` raise
  PermissionError;
- limits set by the runner (`sandbox_runner.py`) before any of the code runs: address space (a memory bomb gets
  MemoryError), CPU seconds, the size of any file written (stdout and stderr included), open files, processes;
- a wall-clock timeout, after which both are killed; `--die-with-parent` and the PID namespace take every process of
  a sandbox with it, whenever the run ends.

The verdict: the candidate's process runs the code, then waits for calls. The tests run in the judge's process, where
each top-level function of the code is a proxy: calling it sends the name and the arguments down a pipe, the
candidate calls its function and sends back the result, which the judge rebuilds with `ast.literal_eval`, so only
plain values cross (numbers, strings, bytes, None, and lists, tuples, dicts and sets of them): an object with a
rigged `__eq__` cannot. The asserts, the builtins they use and `AssertionError` all live in the judge; the judge
writes the verdict on a pipe only it and this process hold. Whatever the candidate does (print a marker, exit with
status 0 inside a call, patch builtins, read its own source, write fake messages on every descriptor it has) it can
only answer calls; if it dies or misbehaves, the run fails. What cannot be proxied is refused, never trusted: a test
that passes a function or an instance of the candidate's class ends in "error" with a reason that starts "not
judged"; values the candidate defines at top level are copied once, after its code ran; an argument the candidate
changes in place is not seen changed by the tests. Helpers the prompt defines (HumanEval's `poly`) are candidate code.

`run_program(program)` keeps the older interface: the whole program is the candidate and there are no separate
tests, so a pass says only that the program reported running to its end, which a hostile program can fake.

Where bubblewrap is missing or cannot create namespaces (tried once), running refuses with SandboxUnavailable, unless
`SandboxLimits(allow_unconfined=True)` (the commands' `--allow-unconfined`): then the same two processes run as
plain child processes with the same limits but none of the isolation.
"""

from __future__ import annotations

import ast
import errno
import functools
import json
import math
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATUSES", "SandboxLimits", "SandboxResult", "SandboxUnavailable", "check_isolation", "isolation_problem",
           "run_program", "run_tests"]

STATUSES = ("passed", "failed", "timeout", "error")
INSTALL = "apt-get install bubblewrap"
RUNNER_SOURCE = Path(__file__).with_name("sandbox_runner.py").read_text(encoding="utf-8")
OPEN_FILES = 64
HIDDEN_DIRS = ("/home", "/root", "/run", "/var", "/mnt", "/media", "/srv")
SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers")
SECRET_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
NAMESPACES = ("--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent",
              "--new-session")
INSIDE_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp"}
SIGNAL_MEANINGS = {"SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}
# The seccomp filter (process_filter): each architecture's identifier (AUDIT_ARCH_*) and the numbers of the calls
# that start a process; the classic-BPF operations it uses; what it returns (SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO).
SYSTEM_CALLS = {"x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435}),
                "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435})}
LOAD, JUMP_IF_EQUAL, JUMP_IF_AT_LEAST, JUMP_IF_ANY_BIT, RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, REFUSE, ABSENT = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
CLONE_THREAD = 0x00010000


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
    probe = subprocess.run([bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--remount-ro", "/proc",
                            "--size", "65536", "--tmpfs", "/tmp", "true"],
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


def process_filter() -> bytes | None:
    """A seccomp program that lets every system call through except those starting a process: fork, vfork and
    clone without CLONE_THREAD fail with EPERM, clone3 with ENOSYS (the C library then falls back to clone, which the
    filter can inspect). Calls in another convention (32-bit calls from a 64-bit process, x32) fail. None on an
    architecture without a table here."""
    if platform.machine() not in SYSTEM_CALLS:
        return None
    arch, numbers = SYSTEM_CALLS[platform.machine()]
    on_call = {"clone": "clone", "clone3": "absent", "fork": "refuse", "vfork": "refuse"}
    return assemble([
        (LOAD, 4),  # seccomp_data.arch: the calling convention
        (JUMP_IF_EQUAL, arch, 0, "refuse"),
        (LOAD, 0),  # seccomp_data.nr: the system call's number
        (JUMP_IF_AT_LEAST, 0x40000000, "refuse", 0),  # x32 calls have bit 30 set
        *[(JUMP_IF_EQUAL, number, on_call[name], 0) for name, number in numbers.items()],
        (RETURN, ALLOW),
        "clone", (LOAD, 16),  # the low half of seccomp_data.args[0]: clone's flags
        (JUMP_IF_ANY_BIT, CLONE_THREAD, "allow", "refuse"),  # a thread, not a process
        "allow", (RETURN, ALLOW),
        "refuse", (RETURN, REFUSE),
        "absent", (RETURN, ABSENT),
    ])


def assemble(program: list) -> bytes:
    """Classic BPF (`struct sock_filter` entries) from (code, operand, jump if true, jump if false) tuples, the jumps
    optional, and labels: a jump names a label or gives a count of instructions to skip."""
    labels, count = {}, 0
    for entry in program:
        if isinstance(entry, str):
            labels[entry] = count
        else:
            count += 1
    instructions = [entry for entry in program if not isinstance(entry, str)]
    code = b""
    for index, (operation, operand, *jumps) in enumerate(instructions):
        true, false = (labels[to] - index - 1 if isinstance(to, str) else to for to in (jumps or (0, 0)))
        code += struct.pack("=HBBI", operation, true, false, operand)
    return code


def memory_file(data: bytes = b"") -> int:
    """An in-memory file holding `data`, positioned at its start."""
    fd = os.memfd_create("tinygpt-sandbox")
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def sandbox_options(limits: SandboxLimits, seccomp_fd: int) -> list[str]:
    """bwrap's options for one sandbox (see the module docstring); the command to run follows them."""
    hidden: list[str] = []
    for folder in sorted({os.path.realpath(path) for path in (*HIDDEN_DIRS, os.path.expanduser("~"))}):
        if os.path.isdir(folder) and folder != "/" and not any(is_within(folder, d) for d in (*hidden, "/tmp")):
            hidden.append(folder)
    python = {os.path.realpath(path) for path in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    options = [*NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev",
               "--remount-ro", "/dev"]
    options += [option for folder in hidden for option in ("--tmpfs", folder)]
    options += ["--size", str(limits.scratch_bytes), "--tmpfs", "/tmp"]
    options += [option for path in sorted(python) if any(is_within(path, d) for d in (*hidden, "/tmp"))
                for option in ("--ro-bind", path, path)]
    options += [option for folder in hidden for option in ("--remount-ro", folder)]
    options += [option for path in SECRET_FILES if os.path.isfile(path) for option in ("--ro-bind", "/dev/null", path)]
    options += [option for path in SECRET_DIRS if os.path.isdir(path)
                for option in ("--tmpfs", path, "--remount-ro", path)]
    options += ["--chdir", "/tmp", "--clearenv"]
    options += [option for name, value in INSIDE_ENV.items() for option in ("--setenv", name, value)]
    return [*options, "--seccomp", str(seccomp_fd), "--"]


class Sandbox:
    """One runner process, confined by bwrap, or, given a `workdir`, a plain child process working there (its own
    process group). `stop` kills it and returns once every process it started is gone."""

    def __init__(self, role: str, fds: list[int], outputs: list[int], limits: SandboxLimits, workdir: str | None):
        limit_args = [limits.memory_mb << 20, math.ceil(limits.timeout_s) + 1, limits.max_file_bytes, OPEN_FILES]
        runner = [sys.executable, "-I", "-c", RUNNER_SOURCE, f"tinygpt-sandbox:{role}",
                  *map(str, fds[:3]), *map(str, limit_args), *map(str, fds[3:])]
        self.confined, self.info_fd = workdir is None, None
        if workdir is not None:
            environment = {"PATH": os.defpath, "LC_ALL": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir}
            self.process = subprocess.Popen(runner, stdin=subprocess.DEVNULL, stdout=outputs[0], stderr=outputs[1],
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
        """The exit status (bwrap's: 128 + N for signal N); subprocess.TimeoutExpired at the deadline."""
        return self.process.wait(timeout=max(deadline - time.monotonic(), 0))

    def stop(self) -> None:
        """Kill the sandbox's init: the kernel then kills every process of its PID namespace, and bwrap exits only
        once they are all gone. (Killing bwrap alone would leave them dying after this returns.)"""
        target = self.process.pid
        if self.confined:
            os.set_blocking(self.info_fd, False)
            try:
                target = json.loads(os.read(self.info_fd, 1 << 12))["child-pid"]
            except (BlockingIOError, ValueError, KeyError):
                pass  # killed before bwrap said: kill bwrap itself
            os.close(self.info_fd)
        try:
            if not self.confined:
                os.killpg(self.process.pid, signal.SIGKILL)
            elif self.process.poll() is None:  # while bwrap has not reaped its child, that PID cannot be reused
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


def ended(returncode: int, confined: bool) -> tuple[str, str]:
    """(status, reason) for a candidate whose process ended before the tests finished."""
    number = 0
    if returncode < 0:  # a plain child process killed by signal N
        number = -returncode
    elif confined and returncode > 128:  # bwrap reports its child killed by signal N as 128 + N
        number = returncode - 128
    if number in signal.valid_signals():
        name = signal.Signals(number).name
        return "error", f"killed by {name}{SIGNAL_MEANINGS.get(name, '')}"
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
    verdict = read_verdict(verdict_fd)
    if verdict is None:
        return "error", f"the tests' process ended without a verdict (exit status {returncode})", returncode
    if verdict[0] != "ended":
        return (*verdict, returncode)
    try:
        return (*ended(candidate.wait(deadline), candidate.confined), returncode)
    except subprocess.TimeoutExpired:
        return "timeout", "", None


def run_program(program: str, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run `program` whole as the candidate, with no separate tests: it passes if it runs to its end (write its
    tests as `assert` statements after the code). Contained as `run_tests`, but the program itself reports reaching
    its end, so a hostile one can fake a pass: judge untrusted code with `run_tests`."""
    return run_tests(program, "", limits)
