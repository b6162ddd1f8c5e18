#!/usr/bin/env bash
# Issue 28's first tries: what share of real requests pays? 600 steps each (50 warmup, cosine over the 600) from the
# shipped model on data/people, same seed and batch order, the real requests' share of batch rows 0, 10 or 25 %
# (taken from the generated exercises; the mixture replay and the mined functions keep their weights). Each try is
# judged greedily on the unseen-words set, MBPP's validation split and the suite (reports in runs/try-real*/).
# Needs data/people (docs/data.md): tinygpt exercises --out data/exercises-people --train 200000 --val 2000 --seed 0;
# tinygpt real-requests ... --out data/real; tinygpt mine-exercises ... --out data/mined;
# tinygpt prepare --sources configs/people_sources.json --tokenizer models/tinygpt-finish/tokenizer.json --out data/people
# One after another: two at once on the 2 cores are slower than both alone.
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
common="configs/people.json --time_budget_minutes=0 --max_steps=600 --warmup_steps=50 --eval_interval=300
        --checkpoint_interval=100 --timeline_interval=0 --timeline_suite=false --progress=false"
for share in 0 0.1 0.25; do
    run=runs/try-real$share
    exercises=$(python -c "print(round(0.55 - $share, 2))")
    python train.py $common --out_dir=$run --release_dir=$run/release \
        --source_weights=real=$share,exercises=$exercises > $run.log 2>&1
    model=(--checkpoint $run/release/model.safetensors)
    tinygpt eval-suite "${model[@]}" --json $run/suite.json > $run/suite.txt 2>/dev/null
    tinygpt eval-suite "${model[@]}" --suite tinygpt/eval/tasks/unseen.jsonl --json $run/unseen.json \
        > $run/unseen.txt 2>/dev/null
    tinygpt eval-mbpp "${model[@]}" --split validation --json $run/mbpp_validation.json \
        > $run/mbpp_validation.txt 2>/dev/null
done
python benchmarks/results/people_tries/summarize.py runs/try-real0 runs/try-real0.1 runs/try-real0.25 \
    > benchmarks/results/people_tries/summary.md
