"""Talking to the person at the terminal, for library code as for the commands: one line on stderr that a closed
stderr cannot turn into a crash, and progress bars that vanish when done. (The commands' own machinery, argument
parsing and exit statuses, is `tinygpt/cli/`; nothing outside the commands imports it.)"""

from __future__ import annotations

import sys


def print_stderr(line: str) -> None:
    """Write one line to stderr; if stderr is closed or full there is nowhere to say it, and that is no crash."""
    if sys.stderr is None:  # started with stderr closed (`2>&-`)
        return
    try:
        print(" ".join(line.split("\n")), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def progress_bar(iterable, description: str, unit: str):
    """A progress bar on stderr for anything that takes more than a few seconds; none when stderr is closed (tqdm
    would fail writing to it), and gone from the terminal once done."""
    from tqdm import tqdm

    return tqdm(iterable, desc=description, unit=unit, dynamic_ncols=True, leave=False, disable=sys.stderr is None)
