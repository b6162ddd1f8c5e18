"""The sandbox's seccomp filter (`tinygpt.sandbox` hands it to bubblewrap, or, unconfined, to the reaper of
`reaper.py`, which installs it before the runner starts): a classic-BPF program the kernel runs on every
system call of the sandboxed process and its threads.

It refuses two things the resource limits cannot bound:
- new processes: fork, vfork and clone without CLONE_THREAD fail with EPERM (threads still work), clone3 with ENOSYS
  (the C library then falls back to clone, whose flags the filter can read). The kernel ignores RLIMIT_NPROC for root,
  as which CI and many containers run, and counts threads in it for everyone else, so that limit cannot do this;
- System V IPC (shmget, shmat, shmctl, shmdt, semget, semop, semctl, semtimedop, msgget, msgsnd, msgrcv, msgctl):
  EPERM. A shared-memory segment outlives its detaching and is not charged to RLIMIT_AS, so a candidate could fill
  segments, detach them and hold memory far past its limit.
Calls in another convention fail with EPERM: 32-bit calls from a 64-bit process (among them the multiplexed `ipc`
call of i386, the only way there to System V IPC) and x32 calls.
"""

from __future__ import annotations

import errno
import platform
import struct

__all__ = ["process_filter"]

# Each architecture's identifier (AUDIT_ARCH_*) and the numbers of the calls the filter looks at.
SYSTEM_CALLS = {
    "x86_64": (0xC000003E, {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435,
                            "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
                            "shmdt": 67, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220}),
    "aarch64": (0xC00000B7, {"clone": 220, "clone3": 435,
                             "msgget": 186, "msgctl": 187, "msgrcv": 188, "msgsnd": 189, "semget": 190, "semctl": 191,
                             "semtimedop": 192, "semop": 193, "shmget": 194, "shmctl": 195, "shmat": 196,
                             "shmdt": 197}),
}
ON_CALL = {"clone": "clone", "clone3": "absent"}  # where the filter jumps on each call; every other listed: "refuse"
# The classic-BPF operations it uses; what it returns (SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO with an errno).
LOAD, JUMP_IF_EQUAL, JUMP_IF_AT_LEAST, JUMP_IF_ANY_BIT, RETURN = 0x20, 0x15, 0x35, 0x45, 0x06
ALLOW, REFUSE, ABSENT = 0x7FFF0000, 0x00050000 | errno.EPERM, 0x00050000 | errno.ENOSYS
CLONE_THREAD = 0x00010000


def process_filter() -> bytes | None:
    """The filter for this machine's architecture (see the module docstring); None on one without a table here."""
    if platform.machine() not in SYSTEM_CALLS:
        return None
    arch, numbers = SYSTEM_CALLS[platform.machine()]
    return assemble([
        (LOAD, 4),  # seccomp_data.arch: the calling convention
        (JUMP_IF_EQUAL, arch, 0, "refuse"),
        (LOAD, 0),  # seccomp_data.nr: the system call's number
        (JUMP_IF_AT_LEAST, 0x40000000, "refuse", 0),  # x32 calls have bit 30 set
        *[(JUMP_IF_EQUAL, number, ON_CALL.get(name, "refuse"), 0) for name, number in numbers.items()],
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
