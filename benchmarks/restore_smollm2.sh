#!/usr/bin/env bash
# The issue-5 run: SmolLM2-135M, Wanda-50 % -> RestoreLCC at CPU scale, then dense / pruned / restored evaluation.
# Usage: bash benchmarks/restore_smollm2.sh [RUNS=runs] [LIMIT=200]
# Needs runs/prune/wanda-50 (python benchmarks/prune_table.py --save runs/prune, or restorelcc prune ... --out it).
set -euo pipefail
RUNS=${1:-runs}; LIMIT=${2:-200}
R=.venv/bin/restorelcc
test -d $RUNS/prune/wanda-50 || $R prune --model smollm2-135m --method wanda --sparsity 0.5 --out $RUNS/prune/wanda-50
# paper recipe at CPU scale: 500 probe prompts, 25 % of heads, 1 epoch over 1000 Alpaca samples, max length 500
/usr/bin/time -v $R restore --dense smollm2-135m --pruned $RUNS/prune/wanda-50 --out $RUNS/restore/wanda-50-lcc \
    --probe-samples 500 --train-samples 1000 --epochs 1 --seed 0 --overwrite 2> $RUNS/restore_time.txt
grep -E "Maximum resident|Elapsed" $RUNS/restore_time.txt
mkdir -p $RUNS/eval
for m in smollm2-135m:dense $RUNS/prune/wanda-50:pruned $RUNS/restore/wanda-50-lcc:restored; do
  $R evaluate --model ${m%%:*} --tasks paper --limit $LIMIT --ppl --efficiency --out $RUNS/eval/${m##*:}-l$LIMIT.json --overwrite
done
