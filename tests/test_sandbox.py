"""The sandboxed executor: a pass is earned by running to the end; failures, hangs, memory and file bombs, process
starts and early exits are caught quickly and each reported in one line."""

from __future__ import annotations

import pytest

from tinygpt.sandbox import SandboxLimits, run_program

QUICK = SandboxLimits(timeout_s=2.0, memory_mb=256, max_file_bytes=1 << 20, output_chars=500)


def run(program: str, limits: SandboxLimits = QUICK):
    return run_program(program, limits)


def test_passing_code_passes():
    result = run("def double(x):\n    return 2 * x\n\nassert double(3) == 6\nprint('hello')\n")
    assert (result.status, result.returncode) == ("passed", 0)
    assert result.output == "hello"  # the sentinel is not shown


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


def test_an_infinite_loop_times_out():
    result = run_program("while True:\n    pass\n", SandboxLimits(timeout_s=1.0))
    assert (result.status, result.returncode) == ("timeout", None)
    assert result.reason == "timed out after 1 s (wall clock)"


def test_the_limits_are_in_force_inside_the_program():
    result = run("import resource\n"
                 "assert resource.getrlimit(resource.RLIMIT_CPU) == (3, 4)\n"  # CPU seconds back up the wall clock
                 "assert resource.getrlimit(resource.RLIMIT_AS) == (256 << 20, 256 << 20)\n"
                 "assert resource.getrlimit(resource.RLIMIT_FSIZE) == (1 << 20, 1 << 20)\n"
                 "assert resource.getrlimit(resource.RLIMIT_NPROC) == (0, 0)\n")
    assert result.status == "passed", result.reason


@pytest.mark.parametrize("bomb", ["x = bytearray(4 << 30)", "x = []\nwhile True:\n    x.append(' ' * 10 ** 6)"])
def test_a_memory_bomb_gets_memory_error(bomb):
    result = run(bomb)
    assert result.status == "error" and result.reason.startswith("MemoryError")


def test_a_huge_file_is_refused():
    result = run("with open('big.bin', 'wb') as f:\n    f.write(b'0' * (64 << 20))\n")
    assert result.status == "error" and "File too large" in result.reason


def test_a_print_flood_is_capped():
    result = run("while True:\n    print('x' * 1000)\n")
    assert result.status == "error" and "File too large" in result.reason and len(result.output) <= 500


@pytest.mark.parametrize("start_processes", [
    "import os\nfor _ in range(4):\n    os.fork()",  # a bounded fork bomb: at most 16 processes if unguarded
    "import subprocess\nsubprocess.run(['true'])",
    "import os\nos.system('true')",
    "import posix\nposix.fork()",
])
def test_starting_processes_is_refused(start_processes):
    result = run(start_processes)
    assert result.status == "error" and result.reason.startswith("PermissionError")


def test_deleting_files_is_refused(tmp_path):
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    result = run(f"import os, shutil\nos.remove({str(victim)!r})\n")
    assert result.status == "error" and result.reason.startswith("PermissionError") and victim.exists()


def test_no_stdin_an_empty_working_directory_and_a_stripped_environment(monkeypatch):
    monkeypatch.setenv("TINYGPT_SECRET_FOR_TEST", "x")
    result = run("import os, sys\n"
                 "assert os.listdir('.') == []\n"
                 "assert 'TINYGPT_SECRET_FOR_TEST' not in os.environ and 'PYTHONPATH' not in os.environ\n"
                 "assert sys.flags.isolated\n"
                 "assert sys.stdin.read() == ''\n")
    assert result.status == "passed", result.reason


def test_invalid_limits_name_the_setting():
    with pytest.raises(ValueError, match="timeout_s must be > 0, got 0"):
        run_program("pass", SandboxLimits(timeout_s=0))
