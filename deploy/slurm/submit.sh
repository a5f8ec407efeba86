#!/bin/bash
# Submits an ablation as an N-task job array plus a report step that runs once every task has
# ended (afterany: a failed task leaves its runs missing, and the report says which).
#
#   deploy/slurm/submit.sh 4 --data /shared/dogs --epochs 16 --seeds 8   # extra flags go to 'mixstream ablate'
#   SBATCH_ARGS='--partition=cpu --cpus-per-task=4' deploy/slurm/submit.sh 8 ...   # sbatch options
set -euo pipefail
N=${1:?usage: submit.sh TASKS [ablate flags...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${MIXSTREAM_OUT:-ablation-results}
# The installed binary of the project this is submitted from (the tasks run there too).
MIXSTREAM=${MIXSTREAM:-$PWD/node_modules/.bin/mixstream}
# shellcheck disable=SC2086 # SBATCH_ARGS is a list of options
ARRAY=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$((N - 1))" "$HERE/ablate.sbatch" "$@")
# shellcheck disable=SC2086
REPORT=$(sbatch --parsable ${SBATCH_ARGS:-} --job-name=mixstream-report --dependency="afterany:${ARRAY%%;*}" --output=mixstream-report-%j.out \
  --wrap="${MIXSTREAM} report '$OUT' ${MIXSTREAM_REPORT_ARGS:-}")
echo "array job ${ARRAY%%;*}, report job ${REPORT%%;*} (results in $OUT)"
