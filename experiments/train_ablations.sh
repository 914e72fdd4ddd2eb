#!/usr/bin/env bash
# Train the ablation models of docs/RESULTS.md: the default recipe shortened to 1000 steps of 512 samples
# (one CPU budget for all) and without the real detector pairs, with one idea switched off each time.
# Models land in runs/ablation_<name>/model. Add device=cuda to SHORT to train them on a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
BP=".venv/bin/binopose"
SHORT="steps=1000 batch_size=512 val_every=500 warmup=100 ckpt_every=100 real_pairs.fraction=0.0"
declare -A ABL=(
  [base]=""
  [no_zemb]="model.z_embedding=false"
  [no_basel]="model.basel_norm=false"
  [loss2d]="loss.w3d=0.0 loss.w2d=1.0"
  [noise3d]="loss.forward=3d"
  [no_profile]="conditioning.noise_profile=false noise.profile_jitter=0.0"
  [no_hiproot]="conditioning.root_from_hips=false"
  [no_defoffset]="augment.definition_offset_mm=0.0"
)
for name in base no_zemb no_basel loss2d noise3d no_profile no_hiproot no_defoffset; do
  [ -f "runs/ablation_$name/model/model.safetensors" ] && continue
  # shellcheck disable=SC2086
  $BP train --config configs/default.yaml --no-progress out=runs/ablation_$name $SHORT ${ABL[$name]}
done
