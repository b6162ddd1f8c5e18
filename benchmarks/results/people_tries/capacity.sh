#!/usr/bin/env bash
# Issue 28's capacity tries at equal wall-clock: an hour of training each on this 2-core machine, quiet, on the
# schedule of the long run (configs/people.json: AdamW 3e-4, cosine over a 300-minute budget, so both stop at the same
# point of it), real requests 10 % of batch rows:
#   width 256, continued from the shipped tinygpt-finish: the long run's own first hour (runs/people, resumed later);
#   width 512 (8 heads), the release widened by `tinygpt widen` (the same logits at the start), continued the same way.
# An hour is a number of steps, from the step times measured back to back on the quiet machine (STEP_TIMES=1 repeats
# that: 25 steps each; the 2026-12-07 figures were 1.35 s and 3.46 s a step, so 2700 and 1050 steps). Steps rather
# than a time limit, so that other work on the machine cannot change where a try stops.
# Each is then judged greedily on the unseen-words set, MBPP's validation split and the suite (reports in the run).
# Evaluations run after the training stops, never beside it (two jobs on the 2 cores slow each other).
#   bash benchmarks/results/people_tries/capacity.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
common="configs/people.json --eval_interval=1000000 --timeline_interval=0 --progress=false"
wide=(--init_from=runs/w512/init.safetensors --n_embd=512 --n_head=8)
[ -f runs/w512/init.safetensors ] || tinygpt widen models/tinygpt-finish/model.safetensors runs/w512/init.safetensors
if [ -n "${STEP_TIMES:-}" ]; then
    for try in 256 512; do
        init=(--init_from=models/tinygpt-finish/model.safetensors); [ $try = 512 ] && init=("${wide[@]}")
        python train.py $common "${init[@]}" --out_dir=/tmp/step-time-$try --max_steps=25 --time_budget_minutes=0 \
            --warmup_steps=5 --eval_batches=1 --checkpoint_interval=100000 > /dev/null 2>&1
        python -c "import csv; r = list(csv.DictReader(open('/tmp/step-time-$try/log.csv')))[-1]; \
print('width $try:', round(float(r['train_s']) / int(r['step']), 3), 's a step')"
    done
fi
python train.py $common --out_dir=runs/people --max_steps=2700 > runs/people-capacity.log 2>&1
python train.py $common --out_dir=runs/people-w512 "${wide[@]}" --max_steps=1050 > runs/people-w512.log 2>&1
for run in runs/people runs/people-w512; do
    model=(--checkpoint $run/ckpt.safetensors)
    tinygpt eval-suite "${model[@]}" --json $run/suite.json > $run/suite.txt
    tinygpt eval-suite "${model[@]}" --suite tinygpt/tasks/unseen.jsonl.gz --json $run/unseen.json > $run/unseen.txt
    tinygpt eval-mbpp "${model[@]}" --split validation --json $run/mbpp_validation.json > $run/mbpp_validation.txt
    kept=benchmarks/results/people_tries/capacity/$(basename $run)
    mkdir -p $kept && cp $run/log.csv $run/*.txt $kept/
done
python benchmarks/results/people_tries/summarize.py runs/people runs/people-w512 \
    > benchmarks/results/people_tries/summary-capacity.md
