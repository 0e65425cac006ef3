#!/usr/bin/env bash
# The issue-6 table: SmolLM2-135M Wanda-50 % restored by each method at one CPU-scale budget, then evaluated.
# Same data, steps (40 x 8 Alpaca examples, max length 500), lr 1e-3 and seed for every method; 25 % of heads for
# the head methods. Results are copied into benchmarks/results/ and rendered by benchmarks/report.py.
# Usage: bash benchmarks/baselines_smollm2.sh [RUNS=runs] [LIMIT=200] [METHODS="lora dora lofit lcc-training-free restorelcc"]
# Needs runs/prune/wanda-50 (restorelcc prune --model smollm2-135m --method wanda --sparsity 0.5 --out runs/prune/wanda-50).
set -euo pipefail
RUNS=${1:-runs}; LIMIT=${2:-200}; METHODS=${3:-"lora dora lofit lcc-training-free restorelcc"}
R=.venv/bin/restorelcc; B=benchmarks/results
test -d $RUNS/prune/wanda-50 || $R prune --model smollm2-135m --method wanda --sparsity 0.5 --out $RUNS/prune/wanda-50
mkdir -p $RUNS/eval $B
for m in $METHODS; do
  $R restore --method $m --dense smollm2-135m --pruned $RUNS/prune/wanda-50 --out $RUNS/restore/wanda-50-$m \
      --probe-samples 500 --train-samples 1000 --epochs 1 --max-steps 40 --seed 0 --overwrite
  $R evaluate --model $RUNS/restore/wanda-50-$m --tasks paper --limit $LIMIT --ppl --efficiency \
      --out $RUNS/eval/$m-l$LIMIT.json --overwrite
  cp $RUNS/restore/wanda-50-$m/run.json $B/restore_$m.json; cp $RUNS/eval/$m-l$LIMIT.json $B/eval_${m}_l$LIMIT.json
done
python benchmarks/report.py --readme README.md
