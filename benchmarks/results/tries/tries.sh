#!/usr/bin/env bash
# Two short tries, same data, schedule and seed: width 256 (the shipped shape) against width 384 (6 heads of 64).
# Needs data/mixture (tinygpt prepare --sources configs/mixture_sources.json); logs go to runs/.
cd "$(dirname "$0")/../../.."  # the repository root
common="configs/mixture.json --max_steps=300 --warmup_steps=30 --eval_interval=100 --checkpoint_interval=300 --timeline_interval=0 --timeline_suite=false --progress=false"
python train.py $common --out_dir=runs/try-w256 > runs/try-w256.log 2>&1
python train.py $common --out_dir=runs/try-w384 --n_embd=384 --n_head=6 > runs/try-w384.log 2>&1
