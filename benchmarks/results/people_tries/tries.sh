#!/usr/bin/env bash
# Issue 28's first tries: what share of real requests pays? STEPS steps each (default 600; 50 warmup, cosine over
# them) from the shipped model on data/people, same seed and batch order, the real requests' share of batch rows 0, 10 or 25 %
# (taken from the generated exercises; the mixture replay and the mined functions keep their weights). Each try is
# judged greedily on the unseen-words set, MBPP's validation split and the suite (reports in runs/try-real*/).
# Needs data/people (docs/data.md): tinygpt exercises --out data/exercises-people --train 200000 --val 2000 --seed 0;
# tinygpt real-requests ... --out data/real; tinygpt mine-exercises ... --out data/mined;
# tinygpt prepare --sources configs/people_sources.json --tokenizer models/tinygpt-finish/tokenizer.json --out data/people
# One after another: two at once on the 2 cores are slower than both alone.
#   STEPS=300 SHARES="0 0.25" bash benchmarks/results/people_tries/tries.sh     # the first, shorter pass
set -euo pipefail
cd "$(dirname "$0")/../../.."  # the repository root
steps=${STEPS:-600}
common="configs/people.json --time_budget_minutes=0 --max_steps=$steps --warmup_steps=50 --eval_interval=$steps
        --checkpoint_interval=100 --timeline_interval=0 --timeline_suite=false --progress=false"
shares=${SHARES:-0 0.1 0.25}
for share in $shares; do
    run=runs/try-real$share
    exercises=$(python -c "print(round(0.55 - $share, 2))")
    python train.py $common --out_dir=$run --release_dir=$run/release \
        --source_weights=real=$share,exercises=$exercises > $run.log 2>&1
    model=(--checkpoint $run/release/model.safetensors)
    tinygpt eval-suite "${model[@]}" --json $run/suite.json > $run/suite.txt 2>/dev/null
    tinygpt eval-suite "${model[@]}" --suite tinygpt/tasks/unseen.jsonl.gz --json $run/unseen.json \
        > $run/unseen.txt 2>/dev/null
    tinygpt eval-mbpp "${model[@]}" --split validation --json $run/mbpp_validation.json \
        > $run/mbpp_validation.txt 2>/dev/null
    kept=benchmarks/results/people_tries/$steps-steps/try-real$share
    mkdir -p $kept && cp $run/log.csv $run/*.txt $kept/
done
python benchmarks/results/people_tries/summarize.py $(for share in $shares; do echo runs/try-real$share; done) \
    > benchmarks/results/people_tries/summary-$steps.md
