#!/usr/bin/env bash
# Issue 28's capacity tries at equal wall-clock: an hour each (TIME minutes), one after another, on the schedule of the
# long run (configs/people.json: AdamW 3e-4, cosine over a 300-minute budget, so both stop at the same point of it):
#   width 256, continued from the shipped tinygpt-finish (the long run's own first hour: runs/people, resumed later);
#   width 512 (8 heads), the release widened by `tinygpt widen` (same logits at the start), continued the same way.
# Each is then judged greedily on the unseen-words set, MBPP's validation split and the suite (reports in the run).
# Evaluations run after the training stops, never beside it (two jobs on the 2 cores slow each other).
#   TIME=60 bash benchmarks/results/people_tries/capacity.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
minutes=${TIME:-60}
common="configs/people.json --time_limit_minutes=$minutes --eval_interval=1000000 --timeline_interval=0
        --progress=false"
tinygpt widen models/tinygpt-finish/model.safetensors runs/w512/init.safetensors --factor 2 --seed 0
python train.py $common --out_dir=runs/people > runs/people-hour1.log 2>&1
python train.py $common --out_dir=runs/people-w512 --init_from=runs/w512/init.safetensors --n_embd=512 --n_head=8 \
    > runs/people-w512.log 2>&1
for run in runs/people runs/people-w512; do
    model=(--checkpoint $run/ckpt.safetensors)
    tinygpt eval-suite "${model[@]}" --json $run/suite.json > $run/suite.txt
    tinygpt eval-suite "${model[@]}" --suite tinygpt/eval/tasks/unseen.jsonl.gz --json $run/unseen.json > $run/unseen.txt
    tinygpt eval-mbpp "${model[@]}" --split validation --json $run/mbpp_validation.json > $run/mbpp_validation.txt
    kept=benchmarks/results/people_tries/capacity/$(basename $run)
    mkdir -p $kept && cp $run/log.csv $run/*.txt $kept/
done
python benchmarks/results/people_tries/summarize.py runs/people runs/people-w512 \
    > benchmarks/results/people_tries/summary-capacity.md
