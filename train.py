"""Train TinyGPT on the prepared corpus: `python train.py [config.json] [--key=value ...] [--resume]`."""

import sys

from tinygpt.cli import run_command
from tinygpt.cli.train import main

if __name__ == "__main__":
    sys.exit(run_command("train", main))  # closed or full output, Ctrl-C before training starts: one line
