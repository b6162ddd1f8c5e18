"""Watch TinyGPT write Python: `python generate.py` completes `def`, `class` and `for i in` live, then writes a whole
function from a request in plain words and runs that function's tests.

    python generate.py                                         the demo below, a few seconds on a laptop CPU
    python generate.py --prompt "import os" --strategy greedy  any `tinygpt generate` option (see --help)
    python generate.py --allow-unconfined                      the demo, its tests run even without bubblewrap

Everything printed is generated on the spot by the shipped checkpoint; nothing is canned. The decoding settings are
fixed: those recorded in `demo.json` next to the checkpoint, which `tools/decoding_sweep.py` chose on the
project's task suite (never by trying seeds on these prompts), printed with the figures measured for them there.
Without a `demo.json`, top-p sampling with seed 0.

Each seed block is checked for what can be checked without examples (`tinygpt.tasks.verify`, as `--verify 10`): of
10 candidates, the first decoded with those settings (greedy where they sample), then samples at a seed fixed below,
the first that compiles, defines the function or class it starts and runs its module-level code in the sandbox is
printed, its header saying which candidate it is and what it passed; where none does, the first, saying so. Without
bubblewrap the blocks are only compiled, and the header says that too.
"""

import json
import sys
import time
from pathlib import Path

from tinygpt.cli import EXIT_BAD_ARGUMENT, print_stderr
from tinygpt.cli.generate import main as generate_main
from tinygpt.cli.generate import run_generating_command
from tinygpt.console import printable
from tinygpt.generate import DEFAULT_CHECKPOINT, STRATEGY_DEFAULTS, GenerateError, generate, load_generator
from tinygpt.sandbox import SandboxLimits, SandboxUnavailable, check_isolation
from tinygpt.tasks import load_tasks
from tinygpt.tasks.task_eval import describe, judge
from tinygpt.tasks.verify import (
    VerifiedCompletion,
    candidate_code,
    completed_code,
    first_candidate_config,
    structural_checks,
    verify,
)
from tinytorch.generation import GenerationConfig

CHECKPOINT = DEFAULT_CHECKPOINT  # models/tinygpt-finish/model.safetensors
TRAIN_HINT = ("train one with `python train.py configs/mixture.json --release_dir=models/tinygpt-mixture`, then "
              "`python train.py configs/finish.json --release_dir=models/tinygpt-finish`")
FALLBACK_SETTINGS = dict(strategy="sample", **STRATEGY_DEFAULTS["sample"], seed=0)  # `tinygpt generate`'s, seeded

# (prompt, what to show, settings): `def` and `class` stop where their body ends, the loop at the first blank line,
# each unless the token limit comes first
DEMO = [
    ("def", "a function", dict(complete_function=True, max_new_tokens=96)),
    ("class", "a class", dict(complete_function=True, max_new_tokens=128)),
    ("for i in", "a loop", dict(complete_function=False, stop_strings=["\n\n"], max_new_tokens=64)),
]
SEED_CANDIDATES = 10  # each seed block: the first of these that compiles, defines what it starts and runs
SEED = 0  # the samples' seed, fixed here: never chosen by trying seeds on these prompts
VERIFY_CANDIDATES = 10  # `--verify 10`: the request again, when its first completion did not pass its tests
REQUEST_TASK = "tinygpt/0"  # the suite's first task, fixed before any model was trained: a signature and a docstring
HOW_IT_STOPPED = {  # by Completion.finish_reason
    "function_end": "stopped where its body ends",
    "stop_string": "stopped at the first blank line",
    "end_of_text": "stopped at the end-of-text token",
    "length": "cut at the token limit",
}

DEMONSTRATES = [
    "a GPT-2-shaped transformer built from scratch on NumPy (tinytorch), trained with it on Python source",
    "a byte-level BPE tokenizer trained on the same code, so indentation and operators are single tokens",
    "KV-cached decoding: each new token costs one position of attention, not a pass over the whole prefix",
    "code-aware stopping: --complete-function ends at the first line indented at or left of the `def`/`class`",
    "code that checks what it can: of 10 candidates per seed prompt, the first that compiles as written, defines "
    "what it starts and runs in a sandbox is shown, or the header says none did",
    "generated code judged the honest way: compiled as written, and run against tests in a sandbox",
]


def demo_settings(checkpoint: Path) -> tuple[dict, str]:
    """The decoding settings (GenerationConfig fields) and a line saying where they come from."""
    path = checkpoint.with_name("demo.json")
    if not path.is_file():
        return dict(FALLBACK_SETTINGS), "decoding: top-p sampling, seed 0 (no demo.json: not chosen on the suite)"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        settings = {key: value for key, value in document["settings"].items()
                    if key not in ("max_new_tokens", "eos_token_id")}
        suite = document["suite"]
        checked = GenerationConfig(**settings)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise GenerateError(f"cannot read the demo settings {path}: {err}") from None
    total = suite["attempts"]
    return settings, (f"decoding: {describe(checked).rsplit(', max_new_tokens', 1)[0]}; "
                      f"chosen on the project's {total}-task suite, where it compiles {suite['compiles']}/{total} "
                      f"and passes {suite['passed']}/{total} (tools/decoding_sweep.py)")


def show_seed_prompts(model, tokenizer, settings: dict, limits: SandboxLimits) -> None:
    """Each seed prompt through `verify` with the structural checks: the first of SEED_CANDIDATES candidates that
    compiles, defines what it starts and runs in the sandbox (compiles, where there is no sandbox), its header saying
    which candidate it is and what it passed; where none passes, the first, saying so."""
    try:
        where = " in the sandbox" if check_isolation(limits) else " WITHOUT a sandbox (--allow-unconfined)"
        run_code = True
    except SandboxUnavailable as err:
        where, run_code = "; not run: no sandbox here", False
        print(f"the seed blocks are only compiled, not run: {err}, or run `python generate.py --allow-unconfined`\n")
    for prompt, description, options in DEMO:
        options = dict(options)
        config = GenerationConfig(**settings, max_new_tokens=options.pop("max_new_tokens"))
        start = time.perf_counter()
        result = verify(model, tokenizer, prompt, SEED_CANDIDATES, config, None, limits, SEED, run_code=run_code,
                        **options)
        seconds = time.perf_counter() - start
        completion = result.completion
        checked = structural_checks(result.name, run_code, options["complete_function"]) + where
        print(f"--- prompt {prompt!r}: {description}, {HOW_IT_STOPPED[completion.finish_reason]} "
              f"({which_candidate(result, config, checked)}; {len(completion.tokens)} tokens, {seconds:.2f} s) ---")
        code = candidate_code(completion, options["complete_function"])
        print((code or completion.prompt + completion.text).rstrip("\n"))
        print("" if result.verified else f"why the first fails: {printable(result.results[0].reason)}\n")


def which_candidate(result: VerifiedCompletion, config: GenerationConfig, checked: str) -> str:
    """Which candidate a seed block is and what it passed, or that none passed."""
    if not result.verified:
        return f"NONE of {SEED_CANDIDATES} candidates passed: {checked}; the first is shown"
    first = first_candidate_config(config).strategy
    origin = (f"a sample at seed {SEED}" if result.tried > 1 else
              f"{first}, the settings above" if first == config.strategy else first)
    return f"candidate {result.tried} of {SEED_CANDIDATES}, {origin}: {checked}"


def show_request(model, tokenizer, settings: dict, allow_unconfined: bool = False) -> None:
    """The suite's first task: a request in plain words, completed into a function, then its tests run (not run,
    with a line saying why, where the sandbox is unavailable)."""
    task = next(task for task in load_tasks() if task.task_id == REQUEST_TASK)
    config = GenerationConfig(**settings, max_new_tokens=128)
    completion = generate(model, tokenizer, task.prompt, config, complete_function=True)[0]
    print(f"--- a request in plain words (task {task.task_id} of the suite): the whole function ---")
    limits = SandboxLimits(allow_unconfined=allow_unconfined)
    try:
        where = "in a sandbox" if check_isolation(limits) else "WITHOUT a sandbox (--allow-unconfined)"
    except SandboxUnavailable as err:
        print((completion.prompt + completion.text).rstrip("\n"))
        print(f"its tests were not run: {err}, or run `python generate.py --allow-unconfined`\n")
        return
    attempt = judge(task, completion, limits)
    print(attempt.code.rstrip("\n"))
    tests = " and ".join(line.removeprefix("assert ") for line in task.test.splitlines() if line.strip())
    print(f"its tests, run {where} ({tests}): {attempt.status.upper()}"
          + ("" if attempt.status == "passed" else f" ({printable(attempt.reason)})") + "\n")
    if attempt.status != "passed":
        show_verified(model, tokenizer, task, config, limits)


def show_verified(model, tokenizer, task, config: GenerationConfig, limits: SandboxLimits) -> None:
    """The same request with --verify: candidates checked against the tests, as a user passes them with --tests."""
    result = verify(model, tokenizer, task.prompt, VERIFY_CANDIDATES, config, task.test_program(), limits)
    how = (f"candidate {result.tried} of {VERIFY_CANDIDATES} passed" if result.verified
           else f"none of {result.tried} passed; the first is shown")
    print(f"--- the same request with --verify {VERIFY_CANDIDATES} --tests ({first_candidate_config(config).strategy}, "
          f"then samples, each run against those tests in the sandbox): {how} ---")
    code = completed_code(result.completion) or result.completion.prompt + result.completion.text
    print(code.rstrip("\n"))
    print(f"its tests: {'PASSED' if result.verified else 'FAILED'}\n")


def demo(checkpoint: Path = CHECKPOINT, allow_unconfined: bool = False) -> int:
    if not checkpoint.is_file():
        print_stderr(f"generate.py: error: no trained checkpoint at {checkpoint}; {TRAIN_HINT}")
        return EXIT_BAD_ARGUMENT
    return run_generating_command("generate.py", lambda: show_demo(checkpoint, allow_unconfined))


def show_demo(checkpoint: Path, allow_unconfined: bool = False) -> int:
    model, tokenizer = load_generator(checkpoint)
    settings, origin = demo_settings(checkpoint)
    c = model.config
    title = "TinyGPT completes Python"
    print(f"{title}\n{'=' * len(title)}")
    print(f"{checkpoint.parent.name}: {c.n_layer} layers, {c.n_head} heads, {c.n_embd} wide, "
          f"context {c.block_size} tokens, vocabulary {c.vocab_size}")
    print(origin + "\n")
    show_seed_prompts(model, tokenizer, settings, SandboxLimits(allow_unconfined=allow_unconfined))
    show_request(model, tokenizer, settings, allow_unconfined)
    print("What this demonstrates")
    print("\n".join(f"  - {line}" for line in DEMONSTRATES))
    print("\nTry: python generate.py --prompt 'def fibonacci(n):' --complete-function --seed 1")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv == ["--allow-unconfined"]:
        return demo(allow_unconfined=bool(argv))  # one line for bad input; `python generate.py | head` ends quietly
    if not any(arg == "--checkpoint" or arg.startswith("--checkpoint=") for arg in argv):
        argv = ["--checkpoint", str(CHECKPOINT), *argv]
    return generate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
