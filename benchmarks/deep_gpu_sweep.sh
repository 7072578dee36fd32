#!/usr/bin/env bash
# On a machine with one CUDA GPU and many cores: the deep-model speed benchmark on CUDA, then the
# ablation plan (benchmarks/deep_ablation_plan.py) on the GPU, many runs at once, from an exported bundle:
#   python benchmarks/deep_ablation.py --data-dir <data> --export-bundle build/deep_bundle.npz   # where the data is
#   OUT=results WORKERS=14 SWEEP_SECONDS=480 bash benchmarks/deep_gpu_sweep.sh       # on the GPU machine
set -u
OUT=${OUT:-benchmarks/results}
WORKERS=${WORKERS:-14}
SWEEP_SECONDS=${SWEEP_SECONDS:-480}
PY=${PY:-python3}
mkdir -p "$OUT" build/sweep_logs
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
nproc
# smoke test: one quick fold on the GPU
timeout 120 $PY benchmarks/deep_ablation.py --model cnn --profile quick --bundle build/deep_bundle.npz --no-test \
  --set fold=0 sequence_length=64 device="'cuda'" --results "$OUT/smoke.jsonl" || { echo "GPU smoke test failed"; exit 1; }
timeout 150 $PY benchmarks/deep_speed.py --devices cuda --samples 2000 --epochs 1 > "$OUT/deep_speed_cuda.txt" 2>&1
tail -8 "$OUT/deep_speed_cuda.txt"
# a bundle holds no test light curves, so the sweep's rows train without distillation (distill_weight=0)
timeout "$SWEEP_SECONDS" $PY benchmarks/deep_ablation_plan.py --bundle build/deep_bundle.npz --device cuda \
  --workers "$WORKERS" --results "$OUT/ablations.jsonl" --logs build/sweep_logs --set distill_weight=0 \
  | tee "$OUT/sweep.txt"
tar -czf "$OUT/sweep_logs.tar.gz" -C build sweep_logs
wc -l "$OUT/ablations.jsonl"
