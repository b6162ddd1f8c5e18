"""The `tinygpt` command: one entry point that dispatches to each tool's own `main(argv)`.

    tinygpt prepare | train | generate | evaluate | eval-functions | eval-suite | eval-humaneval | bench | export-hf
            | import-hf  [options]
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "prepare": ("tinygpt.prepare", "build the dataset: tokenizer and token arrays from Python source"),
    "train": ("tinygpt.train", "train TinyGPT (config file and --key=value flags, --resume)"),
    "generate": ("tinygpt.generate", "complete Python with a trained checkpoint"),
    "evaluate": ("tinygpt.evaluate", "exact held-out loss and bits per byte of a checkpoint"),
    "eval-functions": ("tinygpt.eval_functions", "complete held-out functions and report the share that parses"),
    "eval-suite": ("tinygpt.eval_suite", "complete the project's own small tasks and run their tests in a sandbox"),
    "eval-humaneval": ("tinygpt.eval_humaneval", "HumanEval pass@1 (greedy) and pass@k (sampled), tests sandboxed"),
    "bench": ("tinygpt.bench", "throughput and memory against PyTorch eager"),
    "export-hf": ("tinygpt.export", "write a checkpoint as a Hugging Face GPT-2 model directory"),
    "import-hf": ("tinygpt.export", "read a Hugging Face GPT-2 model directory into a TinyGPT checkpoint"),
}


def usage() -> str:
    lines = ["usage: tinygpt COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<15} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"tinygpt: error: unknown command {command!r}\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    entry = getattr(module, "main_import" if command == "import-hf" else "main")
    return entry(rest)


if __name__ == "__main__":
    sys.exit(main())
