"""Watch TinyGPT write Python: `python generate.py` completes `def`, `class` and `for i in` live.

    python generate.py                                         the demo below, a few seconds on a laptop CPU
    python generate.py --prompt "import os" --strategy greedy  any `tinygpt generate` option (see --help)

Everything printed is generated on the spot by the checkpoint in models/tinygpt-stdlib/; nothing is canned. The
sampling seed is fixed so the demo is reproducible; change it with `--seed` in the option form.
"""

import sys
import time
from pathlib import Path

from tinygpt.cli import EXIT_BAD_ARGUMENT, EXIT_FAILED, print_stderr, run_command
from tinygpt.generate import GenerateError, generate, load_generator
from tinygpt.generate import main as generate_main
from tinytorch.generation import GenerationConfig, GenerationError

CHECKPOINT = Path(__file__).resolve().parent / "models" / "tinygpt-stdlib" / "model.safetensors"
TRAIN_HINT = "train one with `python train.py configs/stdlib.json` (it writes models/tinygpt-stdlib/)"

# (prompt, what to show, settings): top-p sampling with a fixed seed; `def` and `class` stop where their body ends,
# the loop at the first blank line, each unless the token limit comes first
DEMO = [
    ("def", "a function", dict(complete_function=True, max_new_tokens=96)),
    ("class", "a class", dict(complete_function=True, max_new_tokens=128)),
    ("for i in", "a loop", dict(stop_strings=["\n\n"], max_new_tokens=64)),
]
HOW_IT_STOPPED = {  # by Completion.finish_reason
    "function_end": "stopped where its body ends",
    "stop_string": "stopped at the first blank line",
    "end_of_text": "stopped at the end-of-text token",
    "length": "cut at the token limit",
}

DEMONSTRATES = [
    "a GPT-2-shaped transformer built from scratch on NumPy (tinytorch), trained on the Python standard library",
    "a byte-level BPE tokenizer trained on the same code, so indentation and operators are single tokens",
    "KV-cached decoding: each new token costs one position of attention, not a pass over the whole prefix",
    "nucleus (top-p) sampling with temperature, reproducible with a seed",
    "code-aware stopping: --complete-function ends at the first line indented at or left of the `def`/`class`",
]


def demo(checkpoint: Path = CHECKPOINT) -> int:
    if not checkpoint.is_file():
        print_stderr(f"generate.py: error: no trained checkpoint at {checkpoint}; {TRAIN_HINT}")
        return EXIT_BAD_ARGUMENT
    try:
        model, tokenizer = load_generator(checkpoint)
    except GenerationError as err:  # a checkpoint whose weights are not finite
        print_stderr(f"generate.py: error: {err}")
        return EXIT_FAILED
    except GenerateError as err:
        print_stderr(f"generate.py: error: {err}")
        return EXIT_BAD_ARGUMENT
    c = model.config
    title = "TinyGPT completes Python"
    print(f"{title}\n{'=' * len(title)}")
    print(f"{checkpoint.parent.name}: {c.n_layer} layers, {c.n_head} heads, {c.n_embd} wide, "
          f"context {c.block_size} tokens, vocabulary {c.vocab_size}\n")
    for prompt, description, settings in DEMO:
        settings = dict(settings)
        config = GenerationConfig(strategy="sample", temperature=0.8, top_p=0.95, seed=0,
                                  max_new_tokens=settings.pop("max_new_tokens"))
        start = time.perf_counter()
        completion = generate(model, tokenizer, prompt, config, **settings)[0]
        seconds = time.perf_counter() - start
        code = completion.function.text if completion.function else completion.prompt + completion.text
        how = HOW_IT_STOPPED[completion.finish_reason]
        print(f"--- prompt {prompt!r}: {description}, {how} ({len(completion.tokens)} tokens in {seconds:.2f} s) ---")
        print(code.rstrip("\n") + "\n")
    print("What this demonstrates")
    print("\n".join(f"  - {line}" for line in DEMONSTRATES))
    print("\nTry: python generate.py --prompt 'def fibonacci(n):' --complete-function --seed 1")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return run_command("generate.py", demo)  # `python generate.py | head` ends quietly
    if not any(arg == "--checkpoint" or arg.startswith("--checkpoint=") for arg in argv):
        argv = ["--checkpoint", str(CHECKPOINT), *argv]
    return generate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
