#!/usr/bin/env bash
# Short tries before the finishing run: 200 steps each from the released mixture model, same seed and batch order.
# A: 50% exercises, loss on the body only (the mask), lr 6e-4    B: as A, loss on every token
# C: 70% exercises, mask, lr 6e-4                                 D: as A, lr 1.5e-3
# Needs data/finish (tinygpt prepare --sources configs/finish_sources.json ...) and data/finish70 (the same with finish70_sources.json beside this script).
cd "$(dirname "$0")/../../.."  # the repository root
common="configs/finish.json --time_budget_minutes=0 --max_steps=200 --warmup_steps=20 --eval_interval=100
        --checkpoint_interval=200 --timeline_interval=0 --timeline_suite=false --progress=false"
python train.py $common --out_dir=runs/try-a > runs/try-a.log 2>&1
python train.py $common --out_dir=runs/try-b --loss_mask=false > runs/try-b.log 2>&1
python train.py $common --out_dir=runs/try-c --data_dir=data/finish70 > runs/try-c.log 2>&1
python train.py $common --out_dir=runs/try-d --lr=0.0015 > runs/try-d.log 2>&1
