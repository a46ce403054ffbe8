#!/usr/bin/env bash
# The one prepared GPU check of issue 6 (point 4), under 5 minutes: Table 3, the roofline ratios and the frontier
# figure on the GPU, then the same machine's CPU at quick settings, so both sets of times come from one machine.
#
# For a session lent a GPU machine (its python3 holds a CUDA PyTorch, matplotlib, scipy, safetensors, tqdm):
#     run tool:  bash benchmarks/gpu.sh          (timeout_s 360; results come back from $OUT)
# then copy $OUT/* to benchmarks/results/gpu/ and commit it beside the CPU results. At most 8 files come back from
# $OUT, two folders deep: this writes 7.
set -uo pipefail
cd "$(dirname "$0")/.."
DEST="${OUT:-benchmarks/results/gpu}"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
mkdir -p "$DEST"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
  nproc
} 2>&1 | tee "$DEST/gpu-info.txt"

# Training on the GPU, under 40 s: the batched ensemble with device-side sampling (the CPU-tested path, on CUDA).
{ timeout 40 "$PY" -m neuralinv train --dataset 2x2-first --model 2fc --seeds 0 1 2 --steps 5000 --device cuda \
    --out /tmp/neuralinv-gpu-train --quiet || echo "gpu.sh: cuda training failed (exit $?)"; } 2>&1 | tee -a "$DEST/gpu-info.txt"

# GPU, about 2-3 minutes: batch-1 loops are launch-bound, so each is cut at 0.5 s and scaled (the count is recorded).
timeout 200 "$PY" benchmarks/inference.py --device cuda --repeats 3 --max-pass 0.5 --train-steps 0 \
  --out "$DEST/cuda" || echo "gpu.sh: the cuda bench failed or ran out of time (exit $?)"

# The same machine's CPU, quick settings, about a minute.
timeout 90 "$PY" benchmarks/inference.py --device cpu --quick --out "$DEST/cpu" \
  || echo "gpu.sh: the cpu bench failed or ran out of time (exit $?)"
