#!/usr/bin/env bash
# How often the basic bootstrap interval of alpha holds the population alpha: the demo's
# Gaussian features (lambda_i = i^-ALPHA, offset 1000) drawn with seeds 0..TRIALS-1, each
# with B resamples at 95 % (the defaults otherwise: window 11..100, weighted fit, CPU).
#   bench/bootstrap_coverage.sh N D TRIALS [B (200)] [ALPHA (1)]
# Prints one line per trial (seed, alpha-hat, interval, held) and the coverage last.
set -euo pipefail
cli=${ALPHAREQ_CLI:-$(dirname "$0")/../build/alphareq}
n=$1 d=$2 trials=$3 resamples=${4:-200} alpha=${5:-1}
held=0
for ((seed = 0; seed < trials; ++seed)); do
  line=$("$cli" demo --n "$n" --d "$d" --alpha "$alpha" --seed "$seed" --bootstrap "$resamples" \
           --bootstrap-seed "$seed" --backend cpu --json --quiet |
         python3 -c 'import json, sys
r = json.load(sys.stdin)
low, high = r["alpha_interval"]
a, true = r["alpha"], r["true_alpha"]
print(f"{a:.4f} [{low:.4f}, {high:.4f}] {int(low <= true <= high)}")')
  echo "seed $seed: $line"
  held=$((held + ${line##* }))
done
echo "coverage: $held of $trials ($(python3 -c "print(f'{100 * $held / $trials:.1f}')") %), n = $n, D = $d, B = $resamples, population alpha = $alpha"
