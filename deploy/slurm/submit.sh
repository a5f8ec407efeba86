#!/bin/bash
# Submits an ablation as an N-task job array plus a report step that runs once every task has
# ended (afterany: a failed task leaves its runs missing, and the report says which).
#
#   deploy/slurm/submit.sh 4 --epochs 16 --seeds 5      # extra flags go to 'mixstream ablate'
set -euo pipefail
N=${1:?usage: submit.sh TASKS [ablate flags...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${MIXSTREAM_OUT:-ablation-results}
ARRAY=$(sbatch --parsable --array="0-$((N - 1))" "$HERE/ablate.sbatch" "$@")
REPORT=$(sbatch --parsable --job-name=mixstream-report --dependency="afterany:${ARRAY%%;*}" --output=mixstream-report-%j.out \
  --wrap="${MIXSTREAM:-npx mixstream} report '$OUT'")
echo "array job $ARRAY, report job $REPORT (results in $OUT)"
