"""`tinygpt bench` as a script from a source checkout: `python benchmarks/bench.py ...` is `tinygpt bench ...`.

The benchmark is `tinygpt.bench` (the measures; its PyTorch side `tinygpt/bench/torch_reference.py`), its options
`tinygpt/cli/bench.py`: the command imports them as any command imports its library.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from a source checkout
from tinygpt.cli.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
