#!/usr/bin/env bash
# One GPU session's checks and timings, in one go (a lent GPU machine: see docs/BENCH_GPU.md).
#   here:  python bench/gpu_data.py            # thinned copies of ../shared/data in .gpu/ (git-ignored)
#   there: OUT=<folder> bash bench/gpu_check.sh # with .gpu carried; python3 there holds torch + CUDA
# Every stage has its own time limit and writes into $R; $OUT/gpu_results.tgz is rebuilt after each stage,
# so whatever finished comes back even if a later stage runs out of time.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1
PY=${PY:-python3}
R=/tmp/gpu_results
mkdir -p "$R" "${OUT:?set OUT}"
pack() { tar czf "$OUT/gpu_results.tgz" -C /tmp gpu_results; }
stage() {  # stage NAME SECONDS CMD...
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$R/$name.txt" 2>&1
  echo "$name rc=$? ${limit}s-limit took=$((SECONDS - t0))s" | tee -a "$R/stages.txt"
  pack
}
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; free -g; } >"$R/env.txt" 2>&1
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" >>"$R/env.txt" 2>&1
pack
# 1. the same evaluation as on the CPU, on the GPU (docs/RESULTS.md has the CPU numbers)
stage eval_xs 100 $PY -m binopose eval .gpu/mhad_stereo_test.npz --method dualdiff --protocol cross-subject \
  --device cuda --json "$R/eval_xs.json"
stage eval_official 60 $PY -m binopose eval .gpu/mhad_stereo_test.npz --method dualdiff --protocol official \
  --device cuda --json "$R/eval_official.json"
# 2. refinement speed (triangulate, denoise, project), inputs and results on the CPU
stage bench_refine 150 $PY bench/refine.py --device cuda --model src/binopose/assets/default_model \
  --batches 1 4096 65536 262144 1048576 --million 1000000 --json "$R/bench_refine.json"
stage bench_refine_compile 120 $PY bench/refine.py --device cuda --model src/binopose/assets/default_model \
  --compile --batches 1048576 --million 0 --no-extras --json "$R/bench_refine_compile.json"
# 3. training speed (batch generation on the GPU included)
stage bench_train 90 $PY bench/train.py --device cuda --batches 4096 16384 65536 --steps 5 \
  --json "$R/bench_train.json"
# 4. the default recipe on the thinned corpora, trained on the GPU (time-boxed)
stage train_default 180 $PY -m binopose train --config .gpu/train.yaml --no-progress device=cuda \
  out=/tmp/gpu_results/train_default
pack
ls -la "$R" "$OUT"
