#!/bin/bash
# A batch on a Ray cluster: one worker per GPU (or per --ray-cpus CPUs), pairs handed to whichever is free.
#   on the head node:        bash examples/ray_cluster.sh head
#   on every other node:     HEAD_ADDRESS=10.0.0.1 bash examples/ray_cluster.sh worker
#   then, on the head node:  bash examples/ray_cluster.sh batch     (rerun it to resume; `stop` ends Ray)
# Every node needs stylize with Ray (pip install 'gatys-stylize[ray]') and sees $SHARED at the same path
# (NFS, a mounted bucket): the manifest, its images and the outputs are there.
set -euo pipefail
SHARED=${SHARED:-/shared/stylize}
HEAD_ADDRESS=${HEAD_ADDRESS:-$(hostname -I | cut -d' ' -f1)}

case "${1:-}" in
  head)   ray start --head --port=6379 ;;
  worker) ray start --address="$HEAD_ADDRESS:6379" ;;
  batch)  stylize batch "$SHARED/pairs.csv" --out-dir "$SHARED/out" --report "$SHARED/out/report.json" \
            --skip-existing --size 512 --ray "$HEAD_ADDRESS:6379" ;;
  stop)   ray stop ;;
  *)      echo "usage: $0 head|worker|batch|stop" >&2; exit 2 ;;
esac
