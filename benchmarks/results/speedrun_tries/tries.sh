#!/bin/bash
# Muon's learning rate, tried on the speedrun data: 200 steps each (the shipped schedule: 300 warmup steps, cosine
# over 14,650), held-out bpb every 25 steps. Run one at a time on a quiet machine (each ~4 min per contender).
set -e
cd "$(dirname "$0")/../../.."
OUT=benchmarks/results/speedrun_tries
python benchmarks/speedrun.py --contenders tinytorch-adamw,tinytorch-muon --muon-lr 0.02 --max-steps 200 \
    --no-memory --out $OUT/lr-0.02 | tail -4
python benchmarks/speedrun.py --contenders tinytorch-muon --muon-lr 0.05 --max-steps 200 --no-memory \
    --out $OUT/lr-0.05 | tail -3
python benchmarks/speedrun.py --contenders tinytorch-muon --muon-lr 0.01 --max-steps 200 --no-memory \
    --out $OUT/lr-0.01 | tail -3
