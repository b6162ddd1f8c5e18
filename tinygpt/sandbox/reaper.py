"""The reaper: what stands in for bubblewrap when the sandbox runs unconfined (`SandboxLimits(allow_unconfined=True)`
where bubblewrap is unavailable). `tinygpt.sandbox` starts it, from this file's text, in place of each
runner:

    python -I -c REAPER tinygpt-sandbox:reaper FILTER python -I -c RUNNER tinygpt-sandbox:ROLE ...

FILTER is the seccomp program in hex (`seccomp.py`), or `none` on an architecture without one.

It starts the runner as its only child, after installing the filter in that child (no new process, no System V IPC,
threads still work); without a filter it sets RLIMIT_NPROC to 0 instead, which refuses an ordinary user's processes
(and threads) but not root's. When the runner ends, or the reaper is sent SIGTERM (the run is over or timed out), it
ends every process the runner left behind, and exits with the runner's status as bubblewrap reports it (128 + N for
signal N).

How it finds them: it is the child subreaper of its tree (PR_SET_CHILD_SUBREAPER), so a process whose parent dies is
handed to it rather than to init: every process the runner started, even one that called setsid or double-forked to
leave its session and process group, stays its descendant. A process group would lose those; a walk of /proc from
the runner alone would lose the orphans. To end them it walks /proc for its descendants (by each process's parent),
kills them all with SIGKILL and reaps, again until it has no child left: a process forked during a walk is handed to
it when its parent dies and found by the next. Between a walk and its kill a descendant that exited could in
principle have its PID reused; the kernel hands PIDs out in order, so only after they wrapped around.

Unconfined is no isolation: a candidate running as the same user can still kill the reaper itself, and then the
processes it started are handed to init; the parent then still kills the reaper's process group.
"""

import ctypes
import os
import resource
import signal
import sys
import time

PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 22, 36, 38
SECCOMP_MODE_FILTER = 2


class SockFprog(ctypes.Structure):
    """The kernel's `struct sock_fprog`: a seccomp program's length in instructions and where it lies."""

    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def prctl(option: int, *args: int) -> None:
    """prctl(2), its five arguments as the unsigned longs it reads (unused ones 0)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(*(ctypes.c_ulong(value) for value in (option, *args, 0, 0, 0, 0)[:5])) != 0:
        raise OSError(ctypes.get_errno(), f"prctl option {option}: {os.strerror(ctypes.get_errno())}")


def refuse_new_processes(process_filter: str) -> None:
    """In the runner's process, before it starts: the seccomp filter (hex), or RLIMIT_NPROC 0 where there is none."""
    if process_filter == "none":
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        return
    program = bytes.fromhex(process_filter)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    prctl(PR_SET_NO_NEW_PRIVS, 1)  # lets a process without privileges install a filter
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))


def descendants(ancestor: int) -> list[int]:
    """The PIDs of every living process below `ancestor`, from /proc/PID/stat's parent field."""
    children: dict[int, list[int]] = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            continue  # gone
        parent = int(stat.rpartition(b")")[2].split()[1])  # after the name, which may hold any character
        children.setdefault(parent, []).append(int(name))
    found, frontier = [], [ancestor]
    while frontier:
        frontier = [child for pid in frontier for child in children.get(pid, [])]
        found += frontier
    return found


def end_descendants() -> None:
    """Kill every descendant and reap them, until no child is left (see the module docstring)."""
    while True:
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if reaped == 0:
            time.sleep(0.01)  # killed, not yet dead


def start(process_filter: str, command: list[str]) -> int:
    """Fork the runner: the child refuses new processes, then becomes the runner; the parent keeps no descriptor."""
    pid = os.fork()
    if pid == 0:
        try:
            refuse_new_processes(process_filter)
            os.execv(command[0], command)
        except BaseException as error:
            print(f"the sandbox's reaper could not start the runner: {error}", file=sys.stderr, flush=True)
        os._exit(127)
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # the runner's pipes are the runner's alone
    return pid


def stop(signal_number: int, frame: object) -> None:
    """On SIGTERM: leave `main`, whose `finally` ends every process, with the status of a process it killed."""
    raise SystemExit(128 + signal_number)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, stop)
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # the evaluating process died: end the run as bwrap --die-with-parent
    try:
        runner = start(argv[2], argv[3:])
        while True:
            pid, status = os.waitpid(-1, 0)  # reaps the orphans handed over, until the runner ends
            if pid == runner:
                code = os.waitstatus_to_exitcode(status)
                return code if code >= 0 else 128 - code
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        end_descendants()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
