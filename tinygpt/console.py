"""Talking to the person at the terminal, for library code as for the commands: one line on stderr that a closed
stderr cannot turn into a crash, progress bars that vanish when done, and `printable`, which shows text that generated
code controls (a candidate's exception message) without letting it drive the terminal. (The commands' own machinery,
argument parsing and exit statuses, is `tinygpt/cli/`; nothing outside the commands imports it.)"""

from __future__ import annotations

import sys


def printable(text: str) -> str:
    """`text` with every character a terminal would act on instead of showing (ESC, which starts a sequence that can
    clear the screen or colour a fake PASSED; carriage return, bell, NUL, C1 controls, bidirectional overrides)
    escaped as repr escapes it (`\\x1b`, `\\u202e`); newlines, tabs and every printable character, letters of any
    script included, are kept."""
    return "".join(char if char.isprintable() or char in "\n\t" else repr(char)[1:-1] for char in text)


def print_stderr(line: str) -> None:
    """Write one line to stderr, `printable` (it may quote a candidate's exception or a path as typed); if stderr is
    closed or full there is nowhere to say it, and that is no crash."""
    if sys.stderr is None:  # started with stderr closed (`2>&-`)
        return
    try:
        print(printable(" ".join(line.split("\n"))), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def progress_bar(iterable, description: str, unit: str):
    """A progress bar on stderr for anything that takes more than a few seconds; none when stderr is closed (tqdm
    would fail writing to it), and gone from the terminal once done."""
    from tqdm import tqdm

    return tqdm(iterable, desc=description, unit=unit, dynamic_ncols=True, leave=False, disable=sys.stderr is None)
