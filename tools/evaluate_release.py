"""Every figure the project asks of a released model, measured by the project's own commands, in one run.

    python tools/evaluate_release.py --release models/tinygpt-mixture      # about an hour on 2 cores
    python tools/evaluate_release.py --release DIR --quick                  # a few tasks each: checks the script

For the checkpoint `DIR/model.safetensors` it runs, in order, and keeps each command's printed report and JSON in
`DIR/eval/`:

    tinygpt evaluate --ood <numpy's installed source>    exact bits per byte per source and on numpy (never trained on)
    tinygpt eval-suite --verify K                        the project's task suite, greedy, and verified from K
    tinygpt eval-suite --suite unseen.jsonl.gz --verify K   the unseen-words set: the suite's kinds of task in words
                                                         training never sees (its gap to the suite: recall)
    tinygpt eval-mbpp --verify K                         MBPP's test split (500 problems written by people)
    tinygpt eval-humaneval --verify K [--samples N]      HumanEval pass@1 greedy, verified from K (by the examples
                                                         in each prompt, never its tests), and pass@k sampled
    tools/decoding_sweep.py --write-demo DIR/demo.json   the demo's decoding settings, chosen on the suite

then prints each figure beside its target, met or missed, and writes them to `DIR/eval/summary.json`.
`--keep-bpb` reuses `DIR/eval/evaluate.json` (bits per byte do not depend on how completions are judged).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinygpt.cli.eval_humaneval import main as eval_humaneval_main  # noqa: E402
from tinygpt.cli.eval_mbpp import main as eval_mbpp_main  # noqa: E402
from tinygpt.cli.eval_suite import main as eval_suite_main  # noqa: E402
from tinygpt.cli.evaluate import main as evaluate_main  # noqa: E402
from tinygpt.outputs import atomic_write_bytes, atomic_write_text  # noqa: E402
from tinygpt.tasks import UNSEEN_PATH  # noqa: E402
from tinygpt.tasks.mbpp import DEFAULT_PROBLEMS  # noqa: E402

QUICK_TASKS = 3


def numpy_source() -> Path:
    """numpy's installed package directory, found without importing numpy into this process's measurements."""
    found = subprocess.run([sys.executable, "-c", "import numpy, os; print(os.path.dirname(numpy.__file__))"],
                           capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


def run_and_keep(name: str, command: Callable[[list[str]], int], argv: list[str], out_dir: Path) -> dict:
    """Run one command's main(argv) with `--json`, echo its report, keep report and JSON in out_dir."""
    json_path = out_dir / f"{name}.json"
    printed = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        status = command([*argv, "--json", str(json_path)])
    seconds = time.perf_counter() - start
    sys.stdout.write(printed.getvalue())
    if status != 0:
        raise SystemExit(f"evaluate_release: {name} failed with exit status {status}")
    atomic_write_text(out_dir / f"{name}.txt", printed.getvalue())
    print(f"({name}: {seconds / 60:.1f} min)\n", flush=True)
    return json.loads(json_path.read_text(encoding="utf-8"))


def bits_per_byte(evaluation: dict, kind: str, name_start: str = "") -> float:
    """The first measured set of this kind (and name) in `tinygpt evaluate --json`'s document; NaN if none."""
    return next((r["bits_per_byte"] for r in evaluation["results"]
                 if r["kind"] == kind and r["name"].startswith(name_start) and r["bits_per_byte"] is not None),
                float("nan"))


def share_row(figure: str, report: dict, target: float | None, key: str = "passed") -> tuple:
    """(figure, measured share, target text, met) from a report's greedy summary."""
    summary = report["summary"]
    measured = summary[key] / max(summary["attempts"], 1)
    return (figure, measured, "-" if target is None else f">= {target:.2f}",
            None if target is None else measured >= target)


def verified_row(figure: str, report: dict, target: float | None = None) -> tuple | None:
    verified = report.get("verified")
    if verified is None:
        return None
    k = verified["candidates"]
    measured = verified[f"pass@1_verified_{k}"]
    return (f"{figure}, verified from {k}", measured, "-" if target is None else f">= {target:.2f}",
            None if target is None else measured >= target)


def targets(evaluation: dict, suite: dict, unseen: dict, humaneval: dict, mbpp: dict | None,
            demo: dict | None) -> list:
    """(figure, measured, target, met) for each target of the release, the verified figures beside
    them; the gap between the suite and the unseen-words set is what recalling the generator's sentences is worth."""
    humaneval_greedy = {"summary": humaneval["greedy"]["summary"], "verified": humaneval.get("verified")}
    numpy_bpb = bits_per_byte(evaluation, "ood")
    stdlib_bpb = bits_per_byte(evaluation, "held-out", "stdlib")
    rows = [share_row("the suite: passes, greedy", suite, 0.35),
            share_row("the unseen-words set: passes, greedy", unseen, 0.25),
            ("gap, suite - unseen-words set (greedy passes)",
             suite["summary"]["passed"] / suite["summary"]["attempts"]
             - unseen["summary"]["passed"] / unseen["summary"]["attempts"], "stated", None),
            share_row("HumanEval pass@1, greedy", humaneval_greedy, 0.04),
            verified_row("HumanEval pass@1", humaneval_greedy, 0.06),
            mbpp and share_row("MBPP test split pass@1, greedy", mbpp, 0.03),
            mbpp and verified_row("MBPP test split pass@1", mbpp),
            verified_row("the suite", suite), verified_row("the unseen-words set", unseen),
            share_row("the suite: compiles without trimming, greedy", suite, None, "compiles"),
            share_row("the unseen-words set: compiles without trimming, greedy", unseen, None, "compiles"),
            mbpp and share_row("MBPP: compiles without trimming, greedy", mbpp, None, "compiles"),
            ("bits/byte, stdlib held-out", stdlib_bpb, "<= 0.92", stdlib_bpb <= 0.92),
            ("bits/byte, numpy's source", numpy_bpb, "<= 1.37", numpy_bpb <= 1.37)]
    if demo is not None:
        chosen = {"summary": demo["suite"]}
        rows += [share_row(f"the suite under the demo's settings ({demo['name']}): compiles", chosen, None,
                           "compiles"),
                 share_row(f"the suite under the demo's settings ({demo['name']}): passes", chosen, None)]
    return [row for row in rows if row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", type=Path, required=True, help="directory holding model.safetensors")
    parser.add_argument("--samples", type=int, default=0, help="HumanEval sampled completions per problem (pass@k)")
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_TASKS} tasks/problems and a small --ood")
    parser.add_argument("--verify", type=int, default=10, metavar="K",
                        help="also pass@1 verified from K candidates on the suite and HumanEval (0: skip)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the decoding sweep (keep demo.json as it is)")
    parser.add_argument("--keep-bpb", action="store_true", help="reuse eval/evaluate.json instead of measuring again")
    args = parser.parse_args(argv)
    checkpoint = args.release / "model.safetensors"
    out_dir = args.release / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    common = ["--checkpoint", str(checkpoint)]
    limit = ["-n", str(QUICK_TASKS)] if args.quick else []
    ood = numpy_source() / ("linalg" if args.quick else "")
    if args.keep_bpb:
        evaluation = json.loads((out_dir / "evaluate.json").read_text(encoding="utf-8"))
    else:
        evaluation = run_and_keep("evaluate", evaluate_main, [*common, "--ood", str(ood)], out_dir)
    verify = ["--verify", str(args.verify)] if args.verify else []
    suite = run_and_keep("suite", eval_suite_main, [*common, *limit, *verify], out_dir)
    unseen = run_and_keep("unseen", eval_suite_main, [*common, "--suite", str(UNSEEN_PATH), *limit, *verify], out_dir)
    mbpp = None
    if DEFAULT_PROBLEMS.is_file():
        mbpp = run_and_keep("mbpp", eval_mbpp_main, [*common, *(["--limit", str(QUICK_TASKS)] if args.quick else []),
                                                     *verify], out_dir)
    else:
        print(f"evaluate_release: note: no MBPP at {DEFAULT_PROBLEMS}; its figures are left out\n")
    samples = ["--samples", str(args.samples), "--k", "1", "10"] if args.samples else []
    humaneval = run_and_keep("humaneval", eval_humaneval_main,
                             [*common, *(["--limit", str(QUICK_TASKS)] if args.quick else []), *verify, *samples],
                             out_dir)
    demo_path = args.release / "demo.json"
    if not args.no_sweep:
        sweep = [sys.executable, str(ROOT / "tools" / "decoding_sweep.py"), *common, *limit,
                 "--out", str(out_dir / "sweep.json"), "--write-demo", str(demo_path)]
        subprocess.run(sweep, check=True)
    demo = json.loads(demo_path.read_text(encoding="utf-8")) if demo_path.is_file() else None
    rows = targets(evaluation, suite, unseen, humaneval, mbpp, demo)
    print("| figure | measured | target | met |\n|---|---|---|---|")
    for figure, measured, target, met in rows:
        print(f"| {figure} | {measured:.4f} | {target} | {'-' if met is None else 'yes' if met else 'MISSED'} |")
    summary = {"checkpoint": str(checkpoint), "quick": args.quick, "numpy_source": str(ood),
               "targets": [dict(zip(("figure", "measured", "target", "met"), row)) for row in rows]}
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    compress_large_reports(out_dir)
    return 0


def compress_large_reports(out_dir: Path, limit: int = 100_000) -> None:
    """Reports with every completion run to hundreds of kB: keep those over `limit` bytes gzipped (a clone pays for
    every version of them)."""
    for path in sorted(out_dir.glob("*.json")):
        if path.stat().st_size > limit:
            atomic_write_bytes(path.with_suffix(".json.gz"), gzip.compress(path.read_bytes(), mtime=0))
            path.unlink()


if __name__ == "__main__":
    sys.exit(main())
