#!/usr/bin/env bash
# Short tries before the finishing run: 200 steps each (20 warmup, cosine over the 200) from the released mixture
# model, same data, seed and batch order; held-out figures at steps 100 and 200 in runs/try-*/log.csv.
# A: loss on the exercise body only (the mask), lr 6e-4     B: as A, loss on every token (no mask)
# D: as A, lr 3e-4
# Needs data/finish: tinygpt prepare --sources configs/finish_sources.json --tokenizer models/tinygpt-mixture/tokenizer.json --out data/finish
# Run them one after another: two at once on the 2 cores took 13 min for the pair against about 5 min each alone.
cd "$(dirname "$0")/../../.."  # the repository root
common="configs/finish.json --time_budget_minutes=0 --max_steps=200 --warmup_steps=20 --eval_interval=100
        --checkpoint_interval=200 --timeline_interval=0 --timeline_suite=false --progress=false"
python train.py $common --out_dir=runs/try-a > runs/try-a.log 2>&1
python train.py $common --out_dir=runs/try-b --loss_mask=false > runs/try-b.log 2>&1
python train.py $common --out_dir=runs/try-d --lr=0.0003 > runs/try-d.log 2>&1
python benchmarks/results/finish_tries/summarize.py runs/try-a runs/try-b runs/try-d > benchmarks/results/finish_tries/summary.md
