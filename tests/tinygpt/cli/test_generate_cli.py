"""`tinygpt generate` end to end on a tiny random TinyGPT and a tiny BPE trained on a few KB of the standard
library: the `generate` API, every command-line error (one line, exit 2, no traceback), each prompt source, the
root `generate.py` demo and the `tinygpt eval-functions` command.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import REPO
from tinygpt import cli
from tinygpt.cli import eval_functions as eval_functions_cli
from tinygpt.cli.generate import main
from tinygpt.code_completion import prepare_prompt
from tinygpt.data.prepare import is_held_out
from tinygpt.eval import functions as eval_functions
from tinygpt.generate import DEFAULT_CHECKPOINT, GenerateError, generate, load_generator
from tinytorch.generation import GenerationConfig


@pytest.fixture(scope="module")
def loaded(release):
    return load_generator(release)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---- the API ---------------------------------------------------------------------------------------------------

def test_batched_prompts_of_different_lengths_equal_one_by_one(loaded):
    model, tokenizer = loaded
    prompts = ["def f(x):\n", "import os\n", "class Point:\n    def __init__(self):\n"]
    config = GenerationConfig(max_new_tokens=12)
    together = generate(model, tokenizer, prompts, config)
    alone = [generate(model, tokenizer, prompt, config)[0] for prompt in prompts]
    assert [c.tokens for c in together] == [c.tokens for c in alone]
    assert all((c.prompt + c.text).startswith(prompt) for c, prompt in zip(together, prompts))


@pytest.mark.parametrize("prompt", ["def f(x):\n", "def f(x):\n    ", "x = ", "import o", "# add two numbers"])
@pytest.mark.parametrize("strategy", ["greedy", "beam"])
def test_token_healing_regenerates_the_last_token(loaded, prompt, strategy):
    model, tokenizer = loaded
    config = GenerationConfig(strategy=strategy, max_new_tokens=4)
    prepared = prepare_prompt(prompt)  # the comment prompt gets its newline
    for completion in generate(model, tokenizer, prompt, config):
        assert len(completion.prompt) < len(prepared) and (completion.prompt + completion.text).startswith(prepared)


def test_streamed_text_is_the_completion_text(loaded):
    model, tokenizer = loaded
    config = GenerationConfig(strategy="sample", seed=3, max_new_tokens=30)
    written: list[str] = []
    completion = generate(model, tokenizer, "for i in", config, stream=written.append)[0]
    assert "".join(written) == completion.text
    assert completion.finish_reason in ("length", "end_of_text")


def test_stop_strings_cut_the_text(loaded):
    model, tokenizer = loaded
    free = generate(model, tokenizer, "x = ", GenerationConfig(max_new_tokens=20))[0]
    stop = free.text[5:7]
    completion = generate(model, tokenizer, "x = ", GenerationConfig(max_new_tokens=20), stop_strings=[stop])[0]
    assert completion.finish_reason == "stop_string" and completion.text == free.text[:free.text.index(stop)]


def test_empty_prompt_starts_from_end_of_text(loaded):
    model, tokenizer = loaded
    completion = generate(model, tokenizer, "", GenerationConfig(max_new_tokens=5))[0]
    assert completion.prompt == "" and 1 <= len(completion.tokens) <= 5


def test_complete_function_returns_a_block(loaded):
    model, tokenizer = loaded
    completion = generate(model, tokenizer, "def f(x):\n", GenerationConfig(max_new_tokens=10),
                          complete_function=True)[0]
    assert completion.function is not None and completion.function.text.startswith("def f(x):\n")


def test_broken_or_missing_files_are_named(release, tmp_path):
    with pytest.raises(GenerateError, match="checkpoint not found.*train one"):
        load_generator(tmp_path / "missing.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(GenerateError, match="corrupt or truncated"):
        load_generator(tmp_path / "broken.safetensors")
    with pytest.raises(GenerateError, match="no tokenizer found"):
        load_generator(release, tmp_path / "absent.json")


# ---- command-line errors ---------------------------------------------------------------------------------------

BAD_INPUT = [
    (["--strategy", "sample", "--temperature", "0"], "--temperature must be > 0"),
    (["--temperature", "-1"], "--temperature must be > 0"),
    (["--top-p", "0"], "--top-p must be in (0, 1]"),
    (["--top-p", "1.2"], "--top-p must be in (0, 1]"),
    (["--top-k", "-1"], "--top-k must be >= 0"),
    (["--min-p", "1.5"], "--min-p must be in [0, 1]"),
    (["--num-beams", "0"], "--num-beams must be >= 1"),
    (["--num-beams", "2", "--num-return-sequences", "3"], "--num-return-sequences must be <= num_beams (2), got 3"),
    (["--max-new-tokens", "-5"], "--max-new-tokens must be >= 1"),
    (["--max-new-tokens", "0"], "--max-new-tokens must be >= 1"),
    (["--strategy", "nucleus"], "unknown strategy 'nucleus'"),
    (["--strategy", "greedy", "--top-p", "0.9"], "applies only to strategy 'sample'"),
    (["--top-k", "many"], "invalid int value: 'many'"),
    (["--prompt", ""], "the prompt is empty; pass --unconditional"),
    (["--prompt", "   \\n"], "the prompt is empty"),
    (["--prompt", "x", "--unconditional"], "give the prompt one way"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(capsys, release, argv, message):
    argv = ["--checkpoint", str(release), *(argv if "--prompt" in argv or "--unconditional" in argv
                                            else [*argv, "--prompt", "x"])]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("tinygpt generate: error: ") and message in err


def test_missing_and_broken_checkpoints_are_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "--checkpoint", str(tmp_path / "none.safetensors"), "--prompt", "x")
    assert code == 2 and err.count("\n") == 1 and "checkpoint not found" in err and "train.py" in err
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    code, _, err = run(capsys, "--checkpoint", str(tmp_path / "bad.safetensors"), "--prompt", "x")
    assert code == 2 and err.count("\n") == 1 and "bad.safetensors" in err


# ---- command-line runs -----------------------------------------------------------------------------------------

def test_prompt_is_streamed_and_matches_the_api(capsys, release, loaded):
    code, out, _ = run(capsys, "--checkpoint", str(release), "--prompt", "def f(x):\\n", "--seed", "4",
                       "--max-new-tokens", "16")
    assert code == 0
    config = GenerationConfig(strategy="sample", temperature=0.8, top_p=0.95, seed=4, max_new_tokens=16)
    completion = generate(*loaded, "def f(x):\n", config)[0]
    assert out == completion.prompt + completion.text + "\n" and out.startswith("def f(x):\n")


def test_prompt_file_stdin_and_unconditional(capsys, release, tmp_path, monkeypatch):
    (tmp_path / "prompt.py").write_text("import os\n", encoding="utf-8")
    code, out, _ = run(capsys, "--checkpoint", str(release), "--prompt-file", str(tmp_path / "prompt.py"),
                       "--strategy", "greedy", "--max-new-tokens", "5")
    assert code == 0 and out.startswith("import os\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("for i in"))
    code, out, _ = run(capsys, "--checkpoint", str(release), "--strategy", "greedy", "--max-new-tokens", "5")
    assert code == 0 and out.startswith("for i in")
    code, _, _ = run(capsys, "--checkpoint", str(release), "--unconditional", "--max-new-tokens", "5")
    assert code == 0


def test_beam_search_prints_every_returned_sequence(capsys, release):
    code, out, _ = run(capsys, "--checkpoint", str(release), "--prompt", "x = 1", "--prompt", "def", "--num-beams",
                       "3", "--num-return-sequences", "2", "--early-stopping", "never", "--max-new-tokens", "6")
    assert code == 0
    assert [line.split(", score")[0] for line in out.splitlines() if line.startswith("# ---")] == [
        "# --- prompt 1, sequence 1", "# --- prompt 1, sequence 2", "# --- prompt 2, sequence 1",
        "# --- prompt 2, sequence 2"]


def test_complete_function_prints_the_block(capsys, release):
    code, out, _ = run(capsys, "--checkpoint", str(release), "--prompt", "def f(x):\\n", "--complete-function",
                       "--strategy", "greedy", "--max-new-tokens", "8")
    assert code == 0 and out.startswith("def f(x):\n")


def test_interactive_mode_keeps_answering(capsys, release, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("def f\nimport os\n\n"))
    code, out, _ = run(capsys, "--checkpoint", str(release), "--interactive", "--strategy", "greedy",
                       "--max-new-tokens", "3")
    assert code == 0 and out.count(">>> ") == 3 and "def f" in out and "import os" in out


def test_package_cli_dispatches_generate(capsys, release):
    code = cli.main(["generate", "--checkpoint", str(release), "--prompt", "x", "--max-new-tokens", "2"])
    assert code == 0 and capsys.readouterr().out.startswith("x")


# ---- root generate.py ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def root_script():
    spec = importlib.util.spec_from_file_location("root_generate", REPO / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_root_demo_without_checkpoint_says_how_to_train(capsys, root_script, tmp_path):
    assert root_script.demo(tmp_path / "model.safetensors") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "python train.py" in err


SEED_CHECK = re.compile(r"\((candidate \d+ of 10, [^:]+|NONE of 10 candidates passed): compiles")


def seed_headers(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("--- prompt")]


def test_root_demo_completes_the_three_prompts(capsys, root_script, release):
    assert root_script.demo(release) == 0
    out = capsys.readouterr().out
    assert out.startswith("TinyGPT completes Python\n")
    for prompt in ("'def'", "'class'", "'for i in'"):
        assert f"--- prompt {prompt}" in out
    headers = seed_headers(out)
    assert len(headers) == 3 and all(SEED_CHECK.search(line) and "in the sandbox" in line for line in headers)
    assert "--- a request in plain words (task tinygpt/0 of the suite)" in out
    assert "its tests, run in a sandbox (is_even(4) is True and " in out
    assert "no demo.json: not chosen on the suite" in out
    assert "What this demonstrates" in out


def test_root_demo_without_a_sandbox_shows_the_function_but_runs_no_test(capsys, root_script, release, monkeypatch):
    from tinygpt import sandbox

    monkeypatch.setattr(sandbox, "isolation_problem", lambda: "bubblewrap (bwrap) is not installed")
    assert root_script.demo(release) == 0
    out = capsys.readouterr().out
    assert "its tests were not run: bubblewrap (bwrap) is not installed" in out and "apt-get install bubblewrap" in out
    assert "python generate.py --allow-unconfined" in out
    assert "the seed blocks are only compiled, not run: bubblewrap (bwrap) is not installed" in out
    assert all("; not run: no sandbox here;" in line for line in seed_headers(out))  # compile-only checks, said
    assert root_script.demo(release, allow_unconfined=True) == 0
    out = capsys.readouterr().out
    assert "its tests, run WITHOUT a sandbox (--allow-unconfined) (is_even(4)" in out
    assert all(" WITHOUT a sandbox (--allow-unconfined);" in line for line in seed_headers(out))


def test_root_demo_uses_and_prints_the_settings_chosen_on_the_suite(capsys, root_script, release, tmp_path):
    """demo.json next to the checkpoint (written by tools/decoding_sweep.py) fixes the decoding settings."""
    import shutil

    checkpoint = tmp_path / "model.safetensors"
    shutil.copy(release, checkpoint)
    shutil.copy(release.with_name("tokenizer.json"), tmp_path / "tokenizer.json")
    suite = {"attempts": 122, "compiles": 100, "passed": 30}
    settings = {"strategy": "greedy", "max_new_tokens": 128, "repetition_penalty": 1.1}
    (tmp_path / "demo.json").write_text(json.dumps({"settings": settings, "suite": suite}))
    assert root_script.demo(checkpoint) == 0
    out = capsys.readouterr().out
    assert ("decoding: greedy, repetition_penalty 1.1; chosen on the project's 122-task suite, where it compiles "
            "100/122 and passes 30/122") in out
    (tmp_path / "demo.json").write_text(json.dumps({"settings": {**settings, "top_p": 7}, "suite": suite}))
    assert root_script.demo(checkpoint) == 2
    assert "cannot read the demo settings" in capsys.readouterr().err


def test_root_demo_header_says_how_each_completion_stopped(capsys, root_script, release, monkeypatch):
    """A completion the token limit cut is never announced as one that stopped where its body ends."""
    short = [(prompt, description, {**settings, "max_new_tokens": 2}) for prompt, description, settings in
             root_script.DEMO]
    monkeypatch.setattr(root_script, "DEMO", short)
    assert root_script.demo(release) == 0
    out = capsys.readouterr().out
    headers = seed_headers(out)
    assert len(headers) == 3 and all(", cut at the token limit (NONE of 10 candidates passed: compiles" in line
                                     and "; 2 tokens, " in line for line in headers), headers
    assert out.count("why the first fails: ") == 3  # a cut block is never shown as valid code


def test_root_demo_prints_the_first_candidate_that_compiles_and_runs(capsys, root_script, release, monkeypatch):
    """Each seed block goes through verify's structural checks: a duplicate argument, module code that raises and a
    loop with a module-level `return` are passed over for the next candidate, and the header says which it is."""
    from tinygpt.code_completion import extract_function
    from tinygpt.generate import Completion
    from tinygpt.tasks import verify as verify_module

    texts = {"def": [" f(n, n):\n    return n\n", " g(n=1 / 0):\n    return n\n", " h(n):\n    return n\n"],
             "class": [" Stack:\n    items = []\n"],
             "for i in": [" range(3):\n    return i\n", " range(3):\n    print(i)\n"]}

    model_generate = verify_module.generate

    def fake_generate(model, tokenizer, prompt, config, complete_function=False, stop_strings=()):
        if prompt not in texts:  # the request's --verify, when the tiny model's function fails its tests
            return model_generate(model, tokenizer, prompt, config, complete_function=complete_function)
        written = texts[prompt][:1] if config.strategy != "sample" else texts[prompt][1:]
        return [Completion(prompt, text, [1], "function_end" if complete_function else "stop_string", None,
                           extract_function(prompt, text, True) if complete_function else None) for text in written]

    monkeypatch.setattr(verify_module, "generate", fake_generate)
    assert root_script.demo(release) == 0
    out = capsys.readouterr().out
    headers = seed_headers(out)
    assert "(candidate 3 of 10, a sample at seed 0: compiles, defines `h` and its module-level code runs in the " \
           "sandbox;" in headers[0]
    assert "(candidate 1 of 10, sample: compiles" not in headers[1]  # no demo.json: the first is greedy, not sampled
    assert "(candidate 1 of 10, greedy: compiles, defines `Stack` and its module-level code runs" in headers[1]
    assert "(candidate 2 of 10, a sample at seed 0: compiles and its module-level code runs in the sandbox;" in \
           headers[2]
    assert "def h(n):\n    return n\n" in out and "for i in range(3):\n    print(i)\n" in out
    assert "f(n, n)" not in out and "why the first fails" not in out


@pytest.mark.skipif(not DEFAULT_CHECKPOINT.exists(), reason="no shipped model")
def test_python_generate_py_runs_on_the_shipped_model():
    """What a fresh clone's user runs first: `python generate.py`, real generations, exit 0."""
    result = subprocess.run([sys.executable, "generate.py"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for prompt in ("'def'", "'class'", "'for i in'"):
        assert f"--- prompt {prompt}" in result.stdout
    assert "def" in result.stdout.split("--- prompt 'def'")[1]
    assert len(seed_headers(result.stdout)) == 3
    assert all(SEED_CHECK.search(line) for line in seed_headers(result.stdout))  # each says which check it passed


def test_root_script_accepts_generate_options(capsys, root_script, release):
    assert root_script.main(["--checkpoint", str(release), "--prompt", "x", "--max-new-tokens", "2"]) == 0
    assert root_script.main(["--checkpoint", str(release), "--top-p", "7", "--prompt", "x"]) == 2


# ---- eval-functions --------------------------------------------------------------------------------------------

SOURCE_FILE = '''def double(x):
    """Twice x."""
    return 2 * x


class Box:
    def area(self, scale):
        """The area, scaled."""
        width = self.width * scale
        return width * self.height
'''


def test_eval_functions_reports_both_shares(capsys, release, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    names = [f"module_{i}.py" for i in range(40)]
    assert any(is_held_out(n, 0.3) for n in names) and not all(is_held_out(n, 0.3) for n in names)
    for name in names:
        (source / name).write_text(SOURCE_FILE, encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "meta.json").write_text(json.dumps({"source": str(source), "val_fraction": 0.3}), encoding="utf-8")
    report = tmp_path / "results.json"
    code = eval_functions_cli.main(["--checkpoint", str(release), "--data-dir", str(data), "-n", "3",
                                "--max-new-tokens", "6", "--json", str(report)])
    out = capsys.readouterr().out
    assert code == 0 and "compiles without trimming:" in out and "not a verbatim copy:" in out
    assert "well-formed:" in out and "trimmed at max_new_tokens:" in out
    results = json.loads(report.read_text())
    assert len(results) == 3 and {r["name"] for r in results} <= {"double", "area"}
    assert all(r["completion"].startswith("def ") for r in results if r["completion"])


def test_eval_functions_errors_are_one_line(capsys, release, tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"source": str(tmp_path / "gone"), "val_fraction": 0.1}))
    code = eval_functions_cli.main(["--checkpoint", str(release), "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pass --source" in err


def test_held_out_functions_are_split_at_the_docstring():
    from tinygpt.data.prepare import SourceFile

    samples = eval_functions.held_out_functions([SourceFile("m.py", SOURCE_FILE)])
    assert [(s.name, s.prompt, s.reference) for s in samples] == [
        ("double", 'def double(x):\n    """Twice x."""\n', "    return 2 * x\n"),
        ("area", 'def area(self, scale):\n    """The area, scaled."""\n',
         "    width = self.width * scale\n    return width * self.height\n"),
    ]
    assert eval_functions.normalize("  a = 1\n\n    b\n") == "a = 1\nb"
    assert np.mean([s.prompt.startswith("def") for s in samples]) == 1.0
