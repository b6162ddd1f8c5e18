"""The fault-injection run (tests/faults/fault_injection.py), quick subset: every bad argument, damaged file, I/O fault
and signal it tries ends as a clean one-line error or as correct behaviour, never as a traceback, a hang, nonsense
accepted with exit status 0, lost data or another surprise. Also checks that the run's classifier would notice each
of those, so that a broken harness cannot pass by seeing nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "tests" / "faults" / "fault_injection.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("fault_injection", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_fault_injection_run_has_no_failures(tmp_path):
    report_path = tmp_path / "faults.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(report_path)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600, env=env)
    assert report_path.exists(), result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    failures = [f"{case['outcome']} {case['name']}: {case['detail']}" for case in report["cases"]
                if case["outcome"] not in ("error", "ok", "skipped")]
    assert failures == [], "\n".join(failures)
    assert result.returncode == 0, result.stdout[-3000:]
    assert report["counts"]["error"] >= 20 and report["counts"]["ok"] >= 10


@pytest.mark.parametrize("expect, code, stdout, stderr, timed_out, lost, outcome", [
    ("error", 2, "", "tinygpt generate: error: --top-p must be in (0, 1], got 7.0\n", False, [], "error"),
    ("error", 2, "", "merging: 10%|#  | 3/30 [00:00<00:01, 3.1merge/s]\rprepare: error: x\nprepare: note: y\n",
     False, [], "error"),
    ("error", 1, "", "Traceback (most recent call last):\n  ...\nValueError: x\n", False, [], "TRACEBACK"),
    ("error", None, "", "", True, [], "HANG"),
    ("error", 0, "def f(x):\0\0\n", "", False, [], "SILENT"),
    ("error", 2, "", "error: first line\nerror: second line\n", False, [], "WRONG"),
    ("error", 2, "", "tinygpt train: error: x\n", False, ["{case}/data"], "DATA LOST"),
    ("ok", 2, "", "tinygpt generate: error: refused a valid prompt\n", False, [], "WRONG"),
    ("ok", 0, "def f(x): return x\n", "", False, [], "ok"),
    ("pipe", 141, "", "", False, [], "ok"),
    ("pipe", 1, "", "BrokenPipeError: [Errno 32] Broken pipe\n", False, [], "WRONG"),
    ("signal", 130, "", "train: stopped by SIGINT at step 3: ... holds step 3\n", False, [], "ok"),
])
def test_the_classifier_notices_every_kind_of_failure(harness, expect, code, stdout, stderr, timed_out, lost,
                                                       outcome):
    case = harness.Case("example", [], expect)
    assert harness.classify(case, code, stdout, stderr, timed_out, lost, None)[0] == outcome


def test_a_failed_output_check_is_wrong_and_on_nonsense_silent(harness):
    assert harness.classify(harness.Case("x", [], "ok"), 0, "", "", False, [], "missing output")[0] == "WRONG"
    assert harness.classify(harness.Case("x", [], "error"), 0, "", "", False, [], "missing output")[0] == "SILENT"
