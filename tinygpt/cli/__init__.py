"""The `tinygpt` command: one entry point that dispatches to each tool's own `main(argv)`, and the one error style
every tool shares.

    tinygpt exercises | mine-exercises | real-requests | prepare | train | widen | generate | evaluate
            | eval-functions | eval-suite | eval-humaneval | eval-mbpp | bench | export-hf | import-hf | contamination
            | serve | scale-train  [options]

Each command is a module of this package (`COMMANDS` names it) holding its options and exit statuses; the work is
in the library (`tinygpt.data`, `.train`, `.tasks`, `.eval`, `.hf`, `.bench`, `.serve`, `.generate`), which
never imports this package.

The error style, for every command:
- a bad argument is one line on stderr, `tinygpt COMMAND: error: ...`, naming the option and what was expected, and
  exit status 2 (`ArgumentParser` below; `--help` shows each option's default);
- output that cannot be written is one line and exit status 1; output piped into a reader that stops early
  (`tinygpt generate ... | head`) ends the command quietly with status 141, as a program killed by SIGPIPE
  (`run_command`);
- a closed or full stderr never turns an error into a traceback (`print_stderr`), and a closed stdout is output
  that cannot be written;
- Ctrl-C (or SIGTERM, where a command routes it) is one line and exit status 128 + the signal; running out of
  memory is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import io
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from tinygpt.console import print_stderr, progress_bar  # noqa: F401  (commands import them from here too)

COMMANDS = {
    "exercises": ("tinygpt.cli.exercises", "generate verified exercises: a request in words, then its body"),
    "mine-exercises": ("tinygpt.cli.mine_exercises", "exercises from the corpora's functions whose doctests pass"),
    "real-requests": ("tinygpt.cli.real_requests", "real requests: documented functions and MBPP's train split"),
    "prepare": ("tinygpt.cli.prepare", "build the dataset: tokenizer and token arrays from Python source"),
    "train": ("tinygpt.cli.train", "train TinyGPT (config file and --key=value flags, --resume)"),
    "generate": ("tinygpt.cli.generate", "complete Python with a trained checkpoint"),
    "evaluate": ("tinygpt.cli.evaluate", "exact held-out loss and bits per byte of a checkpoint"),
    "eval-functions": ("tinygpt.cli.eval_functions", "complete held-out functions and report the share that compiles"),
    "eval-suite": ("tinygpt.cli.eval_suite", "complete the project's own small tasks and run their tests in a sandbox"),
    "eval-humaneval": ("tinygpt.cli.eval_humaneval", "HumanEval pass@1 (greedy) and pass@k (sampled), tests sandboxed"),
    "eval-mbpp": ("tinygpt.cli.eval_mbpp", "MBPP's test problems, written by people: pass@1, tests sandboxed"),
    "bench": ("tinygpt.cli.bench", "throughput and memory against PyTorch eager"),
    "widen": ("tinygpt.cli.widen", "a checkpoint k times as wide that computes the same logits, to train further"),
    "export-hf": ("tinygpt.cli.export", "write a checkpoint as a Hugging Face GPT-2 model directory"),
    "import-hf": ("tinygpt.cli.export", "read a Hugging Face GPT-2 model directory into a TinyGPT checkpoint"),
    "contamination": ("tinygpt.cli.contamination", "does a HumanEval problem occur verbatim in a dataset or folder?"),
    "serve": ("tinygpt.cli.serve", "the playground: a local web page to generate and look inside the model"),
    "scale-train": ("tinygpt.cli.scale_train", "continue training on many processes with PyTorch (under torchrun)"),
}

EXIT_BAD_ARGUMENT = 2
EXIT_FAILED = 1
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program killed by SIGPIPE


def one_line_error(parser: argparse.ArgumentParser, message: str):
    """The house style for a bad argument: `PROG: error: MESSAGE` on one line, exit status 2 (no usage block)."""
    print_stderr(f"{parser.prog}: error: {message}")
    parser.exit(EXIT_BAD_ARGUMENT)


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Adds "(default: X)" to an option's help unless the help already states its default or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if "default" in help_text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return help_text
        return f"{help_text} (default: %(default)s)".lstrip()


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the house error style (one line, exit 2) and defaults shown in `--help`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        one_line_error(self, message)


def output_file(text: str) -> Path:
    """argparse type for a file a command writes when it ends: checked now, so that a long run cannot fail at its
    last step. Missing parent directories are fine (`write_text_file` creates them)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {ancestor} is not writable")
    return path


def write_text_file(path: Path, text: str) -> None:
    """Write `text` to `path`, creating its parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def flushed_stdout() -> bool:
    """Flush stdout; False if that fails (it is closed, or on a full disk)."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
        return True
    except (OSError, ValueError):
        return False


def silence_stdout() -> None:
    """After stdout failed (a closed pipe, a full disk), point it at /dev/null: Python flushes what is still
    buffered when it exits, and that flush must not fail a second time with a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


class ClosedStdout(io.TextIOBase):
    """Stands in for stdout when a command starts with it closed (`>&-`): writing fails as writing to a closed
    descriptor does, so the command says it cannot write its output (exit 1) instead of crashing on `None`."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "stdout is closed")


def replace_closed_streams() -> None:
    """A command started with stderr closed writes its messages and progress bars nowhere, and that is no crash; one
    started with stdout closed fails at its first output (`ClosedStdout`)."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # for the life of the process
    if sys.stdout is None:
        sys.stdout = ClosedStdout()


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run a command's `body` and return its exit status, turning the ways output can fail into the house style:
    a closed pipe ends quietly (141), any other failure to write is one line (1); Ctrl-C or SIGTERM is one line and
    128 + the signal; running out of memory is one line (1); `SystemExit` becomes a status."""
    replace_closed_streams()
    try:
        status = body()
        sys.stdout.flush()  # fail here, inside the handlers below, rather than at interpreter exit
        return status
    except SystemExit as exit_request:  # --help, or an argument error already reported
        if exit_request.code is None or isinstance(exit_request.code, int):
            return exit_request.code or 0
        print_stderr(f"{prog}: error: {exit_request.code}")
        return EXIT_FAILED
    except BrokenPipeError:
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as err:  # a file named in the error, else stdout itself (a full disk)
        if not flushed_stdout():
            silence_stdout()
        problem = f"{err.filename}: {err.strerror}" if err.filename else f"cannot write the output: {err.strerror}"
        print_stderr(f"{prog}: error: {problem if err.strerror else err}")
        return EXIT_FAILED
    except MemoryError as err:
        print_stderr(f"{prog}: error: out of memory: {err or 'an allocation failed'}; try smaller settings")
        return EXIT_FAILED
    except KeyboardInterrupt as interrupt:  # Ctrl-C; tinygpt.outputs.Interrupted also for SIGTERM
        signum = getattr(interrupt, "signum", signal.SIGINT)
        print_stderr(f"{prog}: stopped by {signal.Signals(signum).name}")
        return 128 + signum


def usage() -> str:
    lines = ["usage: tinygpt COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<15} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    return "\n".join(lines)


# Commands whose libraries are an extra (`pip install "tinytorch-tinygpt[serve]"`), not needed by the rest.
EXTRAS = {"serve": ("serve", {"fastapi", "starlette", "uvicorn", "h11"})}


def dispatch(command: str, argv: list[str]) -> int:
    prog = f"tinygpt {command}"
    try:
        module = importlib.import_module(COMMANDS[command][0])
    except ModuleNotFoundError as err:
        extra, packages = EXTRAS.get(command, ("", set()))
        if (err.name or "").split(".")[0] not in packages:
            raise
        print_stderr(f"{prog}: error: needs {err.name}, which is not installed: pip install "
                     f"'tinytorch-tinygpt[{extra}]' (or pip install -e '.[{extra}]' in a checkout)")
        return EXIT_FAILED
    entry = getattr(module, "main_import" if command == "import-hf" else "main")
    if command == "train":  # the same path as `python train.py`, naming itself as called
        return run_command(prog, lambda: entry(argv, prog))
    return run_command(prog, lambda: entry(argv))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else EXIT_BAD_ARGUMENT
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print_stderr(f"tinygpt: error: unknown command {command!r}; expected one of {', '.join(COMMANDS)}")
        return EXIT_BAD_ARGUMENT
    return dispatch(command, rest)


if __name__ == "__main__":
    sys.exit(main())
