"""Train TinyGPT on the prepared corpus: `python train.py [config.json] [--key=value ...] [--resume]`."""

import sys

from tinygpt.train import main

if __name__ == "__main__":
    sys.exit(main())
