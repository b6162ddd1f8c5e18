"""The sandbox: a pass is earned by the tests' own process; failures, hangs, memory and file bombs, process starts and
early exits are caught and each reported in one line; every forged pass fails, even unconfined; values cross exactly
(escapes: test_sandbox_escapes.py, beside this file). The tests that run code need bubblewrap (CI installs it) and are
skipped without it."""

from __future__ import annotations

import ast
import math
import os
import shutil
from pathlib import Path

import pytest

from tinygpt import sandbox
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, isolation_problem, run_program, run_tests
from tinygpt.sandbox import runner as sandbox_runner

QUICK = SandboxLimits(timeout_s=2.0, memory_mb=256, max_file_bytes=1 << 20, output_chars=500)


def confined():
    if isolation_problem() is not None:
        pytest.skip(f"no sandbox here: {isolation_problem()}")


def run(program: str, limits: SandboxLimits = QUICK):
    confined()
    return run_program(program, limits)


def judged(code: str, tests: str, limits: SandboxLimits = QUICK):
    confined()
    return run_tests(code, tests, limits)


def sandbox_processes() -> list[str]:
    """Command lines of the sandboxes' processes still alive (the runner names its role in its arguments)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command_line = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"tinygpt-sandbox:" in command_line or b"31.25" in command_line:
            found.append(command_line.decode(errors="replace"))
    return found


# --- what a program sees, and how each ending is reported ---

def test_passing_code_passes():
    result = run("def double(x):\n    return 2 * x\n\nassert double(3) == 6\nprint('hello')\n")
    assert (result.status, result.returncode, result.confined) == ("passed", 0, True)
    assert result.output == "hello"


def test_a_failing_assert_fails_and_names_the_assert():
    result = run("def double(x):\n    return x + 1\n\nassert double(1) == 2\nassert double(3) == 6\n")
    assert result.status == "failed"
    assert result.reason == "AssertionError at `assert double(3) == 6`"


def test_an_exception_is_an_error_with_its_message():
    result = run("def f(x):\n    return x / 0\n\nassert f(1) == 1\n")
    assert result.status == "error" and result.reason.startswith("ZeroDivisionError: division by zero at `return")
    syntax = run("def f(x:\n    return x\n")
    assert syntax.status == "error" and "SyntaxError" in syntax.reason and "\n" not in syntax.reason


@pytest.mark.parametrize("early_exit", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"])
def test_exiting_before_the_tests_is_not_a_pass(early_exit):
    result = run(f"def f():\n    return 1\n\n{early_exit}\nassert f() == 2\n")
    assert result.status == "failed" and "before its tests finished" in result.reason


def test_an_infinite_loop_times_out_and_leaves_no_process():
    result = run("while True:\n    pass\n", SandboxLimits(timeout_s=1.0))
    assert (result.status, result.returncode) == ("timeout", None)
    assert result.reason == "timed out after 1 s (wall clock)"
    assert sandbox_processes() == []


def test_the_limits_are_in_force_inside_the_program():
    result = run("import resource\n"
                 "assert resource.getrlimit(resource.RLIMIT_CPU) == (3, 4)\n"  # CPU seconds back up the wall clock
                 "assert resource.getrlimit(resource.RLIMIT_AS) == (256 << 20, 256 << 20)\n"
                 "assert resource.getrlimit(resource.RLIMIT_FSIZE) == (1 << 20, 1 << 20)\n"
                 "assert resource.getrlimit(resource.RLIMIT_NOFILE) == (64, 64)\n")
    assert result.status == "passed", result.reason


@pytest.mark.parametrize("bomb", ["x = bytearray(4 << 30)", "x = bytearray(20 << 30)",
                                  "x = []\nwhile True:\n    x.append(' ' * 10 ** 6)"])
def test_a_memory_bomb_gets_memory_error(bomb):
    result = run(bomb)
    assert result.status == "error" and result.reason.startswith("MemoryError")


def test_a_huge_file_is_refused():
    result = run("with open('big.bin', 'wb') as f:\n    f.write(b'0' * (64 << 20))\n")
    assert result.status == "error" and "File too large" in result.reason


def test_a_print_flood_is_capped():
    result = run("while True:\n    print('x' * 1000)\n")
    assert result.status == "error" and "File too large" in result.reason and len(result.output) <= 500


def test_the_files_written_are_capped_in_total():
    result = run("for i in range(50):\n    with open(f'part{i}', 'wb') as f:\n        f.write(b'0' * (1 << 20))\n")
    assert result.status == "error" and "No space left on device" in result.reason


@pytest.mark.parametrize("start_processes", [
    "import os\nwhile True:\n    os.fork()",  # a fork bomb
    "import subprocess\nsubprocess.run(['true'])",
    "import posix\nposix.fork()",
])
def test_starting_processes_is_refused(start_processes):
    result = run(start_processes)
    assert result.status == "error" and result.reason.startswith("PermissionError"), result.reason
    assert sandbox_processes() == []


def test_os_system_starts_no_shell_but_threads_run():
    result = run("import os, threading\n"
                 "assert os.system('echo ran > started') != 0 and not os.path.exists('started')\n"
                 "done = []\nworker = threading.Thread(target=done.append, args=(1,))\nworker.start()\nworker.join()\n"
                 "assert done == [1]\n")
    assert result.status == "passed", result.reason


def test_a_daemon_does_not_outlive_the_run():
    result = run("import os, subprocess, time\n"
                 "try:\n    subprocess.Popen(['sleep', '31.25'], start_new_session=True)\n"
                 "except OSError as error:\n    print('subprocess:', error)\n"
                 "try:\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(31.25)\n"
                 "except OSError as error:\n    print('fork:', error)\n")
    assert result.status == "passed" and result.output.count("Operation not permitted") == 2, result.output
    assert sandbox_processes() == []


def test_no_stdin_an_empty_working_directory_and_a_stripped_environment(monkeypatch):
    monkeypatch.setenv("TINYGPT_SECRET_FOR_TEST", "x")
    result = run("import os, sys\n"
                 "assert os.listdir('.') == [] and os.getcwd() == '/tmp'\n"
                 "assert 'TINYGPT_SECRET_FOR_TEST' not in os.environ and 'PYTHONPATH' not in os.environ\n"
                 "assert sys.flags.isolated\n"
                 "assert sys.stdin.read() == ''\n"
                 "kinds = []\n"  # of the descriptors held: stdin, stdout, stderr and the two pipes to the tests
                 "for fd in os.listdir('/proc/self/fd'):\n"
                 "    try:\n        kinds.append(os.readlink(f'/proc/self/fd/{fd}').split(':')[0])\n"
                 "    except OSError:\n        pass\n"  # the listing's own descriptor, closed by now
                 "assert sorted(kinds) == ['/dev/null', '/memfd', '/memfd', 'pipe', 'pipe'], kinds\n")
    assert result.status == "passed", result.reason


def test_invalid_limits_name_the_setting():
    with pytest.raises(ValueError, match="timeout_s must be > 0, got 0"):
        run_program("pass", SandboxLimits(timeout_s=0))


# --- the verdict: comes from the tests' process, never from the candidate ---

def test_the_tests_call_the_candidates_functions():
    code = "import math\nLIMIT = 3\n\ndef add(a, b):\n    return a + b\n\ndef parse(text):\n    return int(text)\n"
    tests = ("def check(candidate):\n    assert candidate(1, 2) == 3 and candidate([1], [2]) == [1, 2]\n\n"
             "check(add)\nassert LIMIT == 3 and math.sqrt(add(2, 2)) == 2.0\n"
             "try:\n    parse('x')\nexcept ValueError as error:\n    assert 'invalid literal' in str(error)\n"
             "else:\n    raise AssertionError('no ValueError')\n")
    result = judged(code, tests)
    assert result.status == "passed", result.reason
    failing = judged("def add(a, b):\n    return a - b\n", "assert add(2, 2) == 4\n")
    assert (failing.status, failing.reason) == ("failed", "AssertionError at `assert add(2, 2) == 4`")


FORGERIES = {
    "prints a pass marker and exits 0": ("import os\nprint('passed: sandbox-finished')\nos._exit(0)\n", "assert 0\n"),
    "os._exit(0) inside the called function": ("import os\n\ndef f():\n    os._exit(0)\n", "assert f() == 1\n"),
    "SystemExit(0) inside the called function": ("import sys\n\ndef f():\n    sys.exit(0)\n", "assert f() == 1\n"),
    "dies in a call the tests guard": ("import os\n\ndef f(x):\n    if x < 0:\n        os._exit(0)\n    return x\n",
                                       "assert f(1) == 1\ntry:\n    f(-1)\nexcept Exception:\n    pass\n"),
    "patches builtins and AssertionError": (
        "import builtins\n\nclass Quiet(Exception):\n    pass\n\nbuiltins.AssertionError = Quiet\n"
        "builtins.abs = lambda x: 0\nabs = lambda x: 0\nAssertionError = Quiet\n\ndef f():\n    return 1.0\n",
        "assert abs(f() - 2.0) < 1e-9\n"),
    "returns an object equal to everything": (
        "class Anything:\n    def __eq__(self, other):\n        return True\n\ndef f():\n    return Anything()\n",
        "assert f() == 2\n"),
    "returns an int subclass equal to everything": (
        "class Int(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n\n"
        "def f():\n    return Int(1)\n", "assert f() == 2\n"),
    "writes forged messages on every descriptor": (
        "import os\nfor fd in range(64):\n"
        "    for line in (b\"('ready', {'f': ('function',)})\\n\", b\"('returned', True)\\n\",\n"
        "                 b\"('passed', 'ran to the end')\\n\"):\n"
        "        try:\n            os.write(fd, line)\n        except OSError:\n            pass\n"
        "def f(n):\n    return False\n", "assert f(3) is False and f(4) is True\n"),
    "reads all it can for the tests' expectations": (
        "import glob, os, re\nfound = []\nfor path in glob.glob('/proc/*/fd/*') + glob.glob('/proc/*/cmdline'):\n"
        "    try:\n        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)\n        found += [os.read(fd, 1 << 20)]\n"
        "    except OSError:\n        pass\n"
        "marks = [m for text in found for m in re.findall(rb'marker-in-tests-[0-9a-f]+', text)]\n"
        "print('FOUND' if marks else 'nothing')\n\ndef f():\n    return marks[0].decode() if marks else None\n",
        "assert f() == 'marker-in-tests-7f3a'\n"),
    "raises StopIteration where map calls it": ("def is_even(n):\n    raise StopIteration\n",
                                                "assert all(map(is_even, [0, 2, 4]))\n"),
    "raises StopIteration where a comprehension iterates": ("def is_even(n):\n    raise StopIteration\n",
                                                            "assert [n for n in map(is_even, [1, 3])] == []\n"),
    "raises StopAsyncIteration where an async for iterates": (
        "def is_even(n):\n    raise StopAsyncIteration\n",
        "import asyncio\n\nclass Evens:\n    def __aiter__(self):\n        return self\n\n"
        "    async def __anext__(self):\n        return is_even(1)\n\n"
        "async def collect():\n    return [n async for n in Evens()]\n\nassert asyncio.run(collect()) == []\n"),
}


@pytest.mark.parametrize(("code", "tests"), FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_pass_is_not_a_pass(code, tests):
    result = judged(code, tests)
    assert result.status in ("failed", "error"), result
    assert "FOUND" not in result.output


@pytest.mark.parametrize(("code", "tests"), [
    ("def apply(f, x):\n    return f(x)\n", "assert apply(lambda x: x + 1, 1) == 2\n"),
    ("class Stack:\n    pass\n", "assert Stack() is not None\n"),
    ("import threading\nlock = threading.Lock()\n", "assert lock.acquire()\n"),
])
def test_what_cannot_cross_is_not_judged(code, tests):
    result = judged(code, tests)
    assert result.status == "error" and result.reason.startswith("not judged:"), result.reason


def test_big_ints_and_complex_infinities_cross_exactly():
    code = "def power(n):\n    return 10 ** n\n\ndef same(value):\n    return value\n"
    tests = ("assert power(5000) == 10 ** 5000 and power(5000) != 10 ** 5000 + 1\n"
             "assert same(-(7 ** 9000)) == -(7 ** 9000) and same(12) == 12\n"
             "inf = float('inf')\n"
             "assert same(complex(1, inf)) == complex(1, inf) and same(complex(-inf, -2.5)) == complex(-inf, -2.5)\n"
             "assert same([complex(0, -inf), 3j, complex(2, -0.0)]) == [complex(0, -inf), 3j, 2]\n")
    result = judged(code, tests)
    assert result.status == "passed", result.reason
    assert judged(code, "assert power(5000) == 10 ** 5000 + 1\n").status == "failed"


@pytest.mark.parametrize("value", [10 ** 5000, -(7 ** 9000), complex(1, math.inf), complex(-math.inf, -2.5),
                                   complex(0, -0.0), (2 ** 70000, [complex(math.inf, math.inf)])],
                         ids=["big", "big-negative", "complex-inf", "complex-inf-negative", "complex-zero", "nested"])
def test_literals_read_back_equal(value):
    assert ast.literal_eval(sandbox_runner.literal(value)) == value


# --- where bubblewrap is unavailable ---

def test_without_bubblewrap_running_refuses_unless_unconfined_is_allowed(monkeypatch):
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(SandboxUnavailable, match="install it with `apt-get install bubblewrap`") as refused:
        run_tests("def f():\n    return 1\n", "assert f() == 1\n")
    assert "\n" not in str(refused.value)
    limits = SandboxLimits(timeout_s=10, allow_unconfined=True)
    result = run_tests("def f():\n    return 1\n", "assert f() == 1\n", limits)
    assert (result.status, result.confined) == ("passed", False)
    assert run_tests("def f():\n    return 1\n", "assert f() == 2\n", limits).status == "failed"


def test_a_missing_bwrap_is_detected(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert sandbox.isolation_problem.__wrapped__() == "bubblewrap (bwrap) is not installed"


FORGED_VERDICT = ("import os, signal\n"  # the verdict descriptor is the judge's last argument
                  "verdict_fd = int(open('/proc/self/cmdline', 'rb').read().split(b'\\0')[-2])\n"
                  "os.write(verdict_fd, b\"('passed', 'ran to the end')\\n\")\n"
                  "os.kill(os.getpid(), signal.SIGKILL)\n")


@pytest.mark.parametrize("isolated", [True, False], ids=["confined", "unconfined"])
def test_a_verdict_from_a_judge_that_did_not_exit_normally_does_not_count(monkeypatch, isolated):
    """What a candidate running unconfined can do (find the judge in /proc, write a pass into its verdict pipe
    through /proc/PID/fd/N, kill it), done here by the tests themselves."""
    if isolated:
        confined()
    else:
        monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    result = run_tests("def f():\n    return 1\n", FORGED_VERDICT, SandboxLimits(timeout_s=10, allow_unconfined=True))
    assert (result.status, result.confined) == ("error", isolated) and "SIGKILL" in result.reason, result


DAEMONS = """import os, time
for _ in range(2):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(SLEEP, ['sleep', MARKER])
        os._exit(0)

def daemons():
    found = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            found += open(f'/proc/{pid}/cmdline', 'rb').read() == b'sleep\\0' + MARKER.encode() + b'\\0'
        except OSError:
            pass
    return found

deadline = time.monotonic() + 5
while daemons() < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
"""


def test_unconfined_processes_that_left_the_session_do_not_outlive_the_run(monkeypatch):
    """Unconfined, where no seccomp filter refuses new processes (an architecture without a table here) and the
    kernel ignores RLIMIT_NPROC (root): daemons that called setsid are still found and ended."""
    if os.geteuid() != 0:
        pytest.skip("only root can start processes where no seccomp filter refuses them (RLIMIT_NPROC is 0)")
    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    monkeypatch.setattr(sandbox, "process_filter", lambda: None)
    marker = f"31.{os.getpid()}"
    code = DAEMONS.replace("SLEEP", repr(shutil.which("sleep"))).replace("MARKER", repr(marker))
    result = run_tests(code, "assert daemons() == 2\n", SandboxLimits(timeout_s=10, allow_unconfined=True))
    assert (result.status, result.confined) == ("passed", False), result
    survivors = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit() and
                 readable(entry / "cmdline") == f"sleep\0{marker}\0".encode()]
    assert survivors == []


def readable(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
