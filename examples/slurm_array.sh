#!/bin/bash
# A Slurm job array: each task stylizes one share of pairs.csv. `sbatch examples/slurm_array.sh`
# --shard auto reads the task's place from SLURM_ARRAY_TASK_ID and the array's size from
# SLURM_ARRAY_TASK_COUNT, so only --array says how many shares there are. The tasks write one report
# (each write is merged with the others' under a lock); where the shared folder has no file locks, give
# each task its own, --report "$SHARED/out/report-$SLURM_ARRAY_TASK_ID.json", and afterwards run
#   stylize report merge "$SHARED"/out/report-*.json -o "$SHARED/out/report.json"
# A task that is run again (a failed node, a time limit) does only what is missing (--skip-existing).
#SBATCH --job-name=stylize
#SBATCH --array=0-3
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --output=stylize-%A_%a.log
set -euo pipefail
SHARED=${SHARED:-/shared/stylize}

srun stylize batch "$SHARED/pairs.csv" --out-dir "$SHARED/out" --report "$SHARED/out/report.json" \
  --skip-existing --shard auto --size 512 --quiet
