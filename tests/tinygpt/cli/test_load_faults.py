"""Faults in what the commands load, each to one clean line or the correct result:
checkpoints refused from their header (a huge claimed tensor, integer weights, a FIFO, no permission), tokenizers
checked against the checkpoint's SHA-256 wherever they lie, hostile pre-tokenizer patterns (catastrophic
backtracking, characters dropped, an invalid regex in a Hugging Face file), JSON nested too deeply, a full disk
while import-hf or export-hf writes weights, non-UTF-8 file names and unreadable directories under `--source`, a
lone surrogate sent to the playground, and half-sent requests held open against it. Tiny data only."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from safetensors import SafetensorError

from tests.helpers import REPO, rewrite_safetensors_header
from tinygpt.checkpoint import CheckpointError, load_model, read_checkpoint, save_checkpoint
from tinygpt.cli import evaluate
from tinygpt.cli import generate as generate_command
from tinygpt.cli.export import main as export_main
from tinygpt.cli.export import main_import
from tinygpt.cli.prepare import main as prepare_main
from tinygpt.cli.serve import BoundedH11Protocol
from tinygpt.data.corpus import read_sources
from tinygpt.generate import load_generator
from tinygpt.outputs import file_sha256
from tinygpt.serve import Limits, create_app
from tinytorch.text import BPETokenizer, TokenizerFileError, load_tokenizer

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CATASTROPHIC = r"(a|aa)+$"  # exponential backtracking on a run of a's that does not end the text
DROPPING = r"[a-z]+"  # skips everything that is not a lowercase letter
NESTED = "[" * 100_000 + "]" * 100_000


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def generate_with(checkpoint: Path, *extra: str) -> int:
    return generate_command.main(["--checkpoint", str(checkpoint), "--prompt", "x", "--max-new-tokens", "2", *extra])


@pytest.fixture
def recorded(release, tmp_path) -> Path:
    """A copy of the `release` checkpoint that records its tokenizer's SHA-256, as train and import-hf write them."""
    shutil.copyfile(release.with_name("tokenizer.json"), tmp_path / "tokenizer.json")
    model, _, _ = load_model(release)
    metadata = {"tokenizer": "tokenizer.json", "tokenizer_sha256": file_sha256(tmp_path / "tokenizer.json")}
    save_checkpoint(tmp_path / "model.safetensors", model, metadata)
    return tmp_path / "model.safetensors"


def other_tokenizer(path: Path) -> Path:
    """A tokenizer of the same kind as the release's that is not the release's."""
    BPETokenizer.train([(STDLIB / "glob.py").read_text(encoding="utf-8")], vocab_size=280).save(path)
    return path


def tokenizer_with_pattern(release: Path, path: Path, pattern: str) -> Path:
    document = json.loads(release.with_name("tokenizer.json").read_text(encoding="utf-8"))
    path.write_text(json.dumps({**document, "pattern": pattern}), encoding="utf-8")
    return path


# ---- checkpoints: refused from the header, before any tensor is read ------------------------------------------------

@pytest.mark.parametrize("name, shape, words", [
    ("model.wte.weight", [40000, 40000], "token embedding of shape"),
    ("model.h.0.mlp.c_fc.weight", [40000, 40000], "weights, the file holds"),
])
def test_a_header_claiming_a_huge_tensor_is_refused_before_reading(recorded, monkeypatch, capsys, name, shape, words):
    rewrite_safetensors_header(recorded, lambda header: header[name].update(shape=shape))

    def no_read(*args, **kwargs):
        raise AssertionError("a tensor was read before the header was checked")

    monkeypatch.setattr("tinygpt.checkpoint.load_file", no_read)
    with pytest.raises(CheckpointError, match=words):
        read_checkpoint(recorded)
    assert generate_with(recorded) == 2
    assert words in one_line(capsys)


def test_integer_weights_are_refused_naming_the_tensor(release, recorded, tmp_path, capsys):
    model, _, _ = load_model(release)
    save_checkpoint(tmp_path / "int32.safetensors", model, {}, dtype=np.int32)
    with pytest.raises(CheckpointError, match=r"weight [\w.]+ is stored as I32; weights must be float32 or float16"):
        load_model(tmp_path / "int32.safetensors")  # what train (--resume, --init_from) and generate load with
    rewrite_safetensors_header(recorded,
                               lambda header: header["model.wte.weight"].update(dtype="I32"))  # as many bytes as F32
    assert generate_with(recorded) == 2
    assert "weight wte.weight is stored as I32" in one_line(capsys)


def test_a_checkpoint_that_is_a_fifo_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "model.safetensors")
    result = subprocess.run([sys.executable, "-m", "tinygpt", "generate", "--checkpoint",
                             str(tmp_path / "model.safetensors"), "--prompt", "x"],
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "is not a regular file" in result.stderr, result.stderr


def test_an_unreadable_checkpoint_says_it_cannot_be_read(recorded, monkeypatch, capsys):
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("tinygpt.checkpoint.safetensors_header", denied)  # chmod means nothing to root
    assert generate_with(recorded) == 2
    line = one_line(capsys)
    assert "cannot be read: Permission denied" in line and "corrupt" not in line


# ---- tokenizers: the checkpoint's own, wherever it lies --------------------------------------------------------------

def test_the_matching_tokenizer_is_accepted_when_the_one_beside_was_replaced(recorded, tmp_path, capsys):
    kept = shutil.copyfile(recorded.with_name("tokenizer.json"), tmp_path / "kept.json")
    other_tokenizer(recorded.with_name("tokenizer.json"))
    assert generate_with(recorded) == 2
    assert "it was replaced afterwards" in one_line(capsys)
    assert generate_with(recorded, "--tokenizer", str(kept)) == 0
    assert export_main([str(recorded), str(tmp_path / "hf"), "--tokenizer", str(kept)]) == 0


def test_an_explicit_tokenizer_that_is_not_the_checkpoints_is_refused(recorded, tmp_path, capsys):
    other = other_tokenizer(tmp_path / "other.json")
    assert generate_with(recorded, "--tokenizer", str(other)) == 2
    assert "is not the one checkpoint" in one_line(capsys)
    assert evaluate.main(["--checkpoint", str(recorded), "--tokenizer", str(other), "--ood", str(tmp_path)]) == 2
    assert "is not the one checkpoint" in one_line(capsys)


@pytest.mark.parametrize("pattern, words", [(CATASTROPHIC, "catastrophic backtracking"),
                                            (DROPPING, "drops characters"), ("(", "not a valid regex")])
def test_a_hostile_pattern_is_refused_before_use(release, tmp_path, capsys, pattern, words):
    path = tokenizer_with_pattern(release, tmp_path / "hostile.json", pattern)
    with pytest.raises(TokenizerFileError, match=words):
        load_tokenizer(path)
    assert generate_with(release, "--tokenizer", str(path)) == 2
    assert words in one_line(capsys)


def test_prepare_refuses_a_tokenizer_whose_dataset_would_not_decode(release, source, tmp_path, capsys):
    path = tokenizer_with_pattern(release, tmp_path / "dropping.json", DROPPING)
    code = prepare_main(["--source", str(source), "--out", str(tmp_path / "data"), "--tokenizer", str(path),
                         "--val-fraction", "0.5", "--no-benchmark-check"])
    assert code == 2 and "drops characters" in capsys.readouterr().err.splitlines()[-1]
    assert not (tmp_path / "data").exists()


def test_json_nested_too_deeply_is_one_line_naming_the_file(release, hf_dir, tmp_path, capsys):
    (tmp_path / "nested.json").write_text(NESTED)
    assert generate_with(release, "--tokenizer", str(tmp_path / "nested.json")) == 2
    assert "nested.json" in one_line(capsys)
    for name in ("config.json", "tokenizer.json"):
        saved = (hf_dir / name).read_text()
        (hf_dir / name).write_text(NESTED)
        assert main_import([str(hf_dir), "--out", str(tmp_path / "ours" / "model.safetensors")]) == 2
        assert name in one_line(capsys)
        (hf_dir / name).write_text(saved)
    assert not (tmp_path / "ours").exists()


# ---- import-hf and export-hf ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source(stdlib_modules) -> Path:
    return stdlib_modules


def set_split_pattern(hf_dir: Path, pattern: str) -> None:
    document = json.loads((hf_dir / "tokenizer.json").read_text())
    document["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"Regex": pattern}
    (hf_dir / "tokenizer.json").write_text(json.dumps(document))


@pytest.mark.parametrize("pattern, words", [("(", "not a valid regex"), (CATASTROPHIC, "catastrophic backtracking")])
def test_import_refuses_a_split_pattern_that_cannot_run(hf_dir, tmp_path, capsys, pattern, words):
    set_split_pattern(hf_dir, pattern)
    assert main_import([str(hf_dir), "--out", str(tmp_path / "ours" / "model.safetensors")]) == 2
    line = one_line(capsys)
    assert "tokenizer.json" in line and words in line
    assert not (tmp_path / "ours").exists()


def test_import_never_converts_a_split_pattern_into_a_lossy_tokenizer(hf_dir, tmp_path):
    set_split_pattern(hf_dir, DROPPING)  # Hugging Face keeps the text between matches; a BPETokenizer would not
    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 0
    assert not (out.parent / "tokenizer.json").exists()
    assert (out.parent / "hf_tokenizer" / "tokenizer.json").read_bytes() == (hf_dir / "tokenizer.json").read_bytes()


def disk_full(tensors, filename, metadata=None):
    raise SafetensorError(f'Error while serializing: I/O error: No space left on device (os error 28) at path '
                          f'"{filename}"')


def test_a_full_disk_while_importing_is_one_line_and_keeps_the_old_checkpoint(hf_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ours" / "model.safetensors"
    assert main_import([str(hf_dir), "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr("tinygpt.checkpoint.save_file", disk_full)
    assert main_import([str(hf_dir), "--out", str(out), "--force"]) == 1
    assert "No space left on device" in one_line(capsys)
    assert out.read_bytes() == before and sorted(os.listdir(out.parent)) == ["model.safetensors", "tokenizer.json"]


def test_a_full_disk_while_exporting_is_one_line(hf_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tinygpt.checkpoint.save_file", disk_full)
    assert export_main([str(hf_dir.parent / "model.safetensors"), str(tmp_path / "back")]) == 1
    assert "No space left on device" in one_line(capsys)


# ---- prepare: what lies under --source ------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_prepared(source, tmp_path, capsys):
    copy = shutil.copytree(source, tmp_path / "source")
    shutil.copyfile(STDLIB / "calendar.py", os.fsencode(copy) + b"/bad\xff\xfe.py")  # not among the source's
    code = prepare_main(["--source", str(copy), "--out", str(tmp_path / "data"), "--vocab-size", "300",
                         "--val-fraction", "0.5", "--no-benchmark-check"])
    assert code == 0, capsys.readouterr().err
    meta = json.loads((tmp_path / "data" / "meta.json").read_text())
    assert meta["splits"]["train"]["files"] + meta["splits"]["val"]["files"] == 13  # the oddly named file too


def test_a_single_line_of_megabytes_is_prepared_showing_progress_inside_it(source, tmp_path, capsys):
    # was: the bars counted files, so one 200 MB line sat at 0 % for minutes, and merge learning rescanned a minified
    # word once per merge (a 2 MB word: hours); now a 200 MB line takes 101 s (benchmarks/README.md)
    copy = shutil.copytree(source, tmp_path / "source")
    (copy / "minified.py").write_text("total = total + 1; value = value * 2; " * 80_000)  # 3 MB, one line
    (copy / "blob.py").write_text("BLOB = b" + "a1b2c3d4" * 125_000)  # one 1 MB word
    raised = ["--max-file-bytes", "10000000", "--max-line-chars", "10000000", "--max-mean-line-chars", "10000000"]
    code = prepare_main(["--source", str(copy), "--out", str(tmp_path / "data"), "--vocab-size", "300",
                         "--val-fraction", "0.5", "--no-benchmark-check", *raised])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "left 1 words longer than 1,000 characters out of merge learning" in err
    encoding = [line for line in err.replace("\r", "\n").splitlines() if line.startswith("encoding")]
    assert any("char" in line and "M/" in line for line in encoding)  # counted in characters, in millions


def test_an_unreadable_directory_under_the_source_is_counted(source, tmp_path, monkeypatch):
    copy = shutil.copytree(source, tmp_path / "source")
    shutil.copytree(source, copy / "locked")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(os.fsdecode(path)) == copy / "locked":  # chmod 000 means nothing to root
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, skipped = read_sources(copy, 1_000_000)
    assert len(files) == 12 and skipped["unreadable"] == 1


# ---- the playground --------------------------------------------------------------------------------------------------

def test_a_lone_surrogate_is_422_naming_the_field(release):
    model, tokenizer = load_generator(release)
    with TestClient(create_app(model, tokenizer, Limits(), model_name="tiny"), base_url="http://127.0.0.1") as client:
        for path, body, loc in [("/api/generate", b'{"prompt": "x = \\ud800 + 1"}', ["body", "prompt"]),
                                ("/api/generate", b'{"prompt": "x", "stop": ["\\udfff"]}', ["body", "stop", 0]),
                                ("/api/verify", b'{"prompt": "def f():", "tests": "\\ud800"}', ["body", "tests"])]:
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422, response.text
            assert [d["loc"] for d in response.json()["detail"]] == [loc]
            assert "lone surrogate" in response.json()["detail"][0]["msg"]


async def answer_ok(scope, receive, send) -> None:
    """The smallest ASGI app: reads the request, answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def bounded_server():
    """Starts uvicorn servers with the playground's connection bounds, tightened to the given read timeout and
    number of connections; returns each one's address."""
    servers = []

    def start(read_timeout_s: float, max_connections: int) -> tuple[str, int]:
        protocol = type("Tight", (BoundedH11Protocol,), {"read_timeout_s": read_timeout_s,
                                                         "max_connections": max_connections})
        sock = socket.create_server(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(answer_ok, http=protocol, lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return sock.getsockname()

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def connect(address) -> socket.socket:
    return socket.create_connection(address, timeout=30)  # a bound for a broken server, not a measurement


def test_serve_cuts_off_a_half_sent_request(bounded_server):
    address = bounded_server(read_timeout_s=0.5, max_connections=8)
    with connect(address) as whole:
        whole.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert whole.recv(1024).startswith(b"HTTP/1.1 200")
    with connect(address) as half:
        half.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # the blank line that ends the request never comes
        assert half.recv(1024) == b""  # closed by the server


def test_serve_closes_connections_over_its_cap(bounded_server):
    address = bounded_server(read_timeout_s=600, max_connections=2)
    with connect(address) as first, connect(address) as second:
        first.sendall(b"GET / HTTP/1.1\r\n")
        second.sendall(b"GET / HTTP/1.1\r\n")
        with connect(address) as third:
            assert third.recv(1024) == b""  # one over the cap: closed at once, long before any read timeout
        first.sendall(b"Host: x\r\n\r\n")  # the two within the cap are still served
        assert first.recv(1024).startswith(b"HTTP/1.1 200")
