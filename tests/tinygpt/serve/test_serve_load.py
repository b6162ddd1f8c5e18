"""benchmarks/load_test.py on the tiny `release` checkpoint: 8 concurrent clients against a real `tinygpt serve`
on loopback all finish, with no error, and the report is written. No timing is asserted beyond its order."""

import importlib.util
import json
import sys

from tests.helpers import REPO

SCRIPT = REPO / "benchmarks" / "load_test.py"


def load_script():
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_eight_clients_at_once_all_finish_without_error(release, tmp_path, capsys):
    out = tmp_path / "load.json"
    assert load_script().main(["--checkpoint", str(release), "--clients", "8", "--new-tokens", "16",
                               "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["clients"] == 8 and report["finished"] == 8 and report["errors"] == 0, report["error_messages"]
    assert all(client["ok"] and client["tokens"] >= 1 for client in report["per_client"])
    for measure in ("time_to_first_token_s", "total_s"):
        assert 0 < report[measure]["p50"] <= report[measure]["p99"] <= report[measure]["max"]
    assert report["time_to_first_token_s"]["max"] <= report["total_s"]["max"]
    assert "time to first token" in capsys.readouterr().out


def test_a_server_that_cannot_start_is_one_error_line(tmp_path, capsys):
    assert load_script().main(["--checkpoint", str(tmp_path / "missing.safetensors"), "--deadline", "30"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("load_test: error: the server did not start: tinygpt serve: error: ") and "missing" in err
