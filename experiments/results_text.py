"""The prose of docs/RESULTS.md. It describes the committed run. When the JSON changes, reread it."""

COMMENTARY = {
    "summary": """\
**Defaults changed on 2026-12-03 (issue 15).** The refiner now keeps the detector's own joint
definitions (`--definitions keep`), gates its correction by Stein's unbiased risk estimate at the
90 % lower bound (`--gate lcb`: the correction is kept only as far as its estimated reduction of
the error against triangulation of the same input stays positive; its random probes have a per-frame
part that all joints of a view share, `--gate-noise common`, since a rule of 18:10 UTC),
and ignores detector confidences as evidence (`--conf-evidence ones`). The next section shows what
the defaults give. **Every other table in this file records the model as shipped until then** (v5
behaviour), and its commands carry `--definitions model --gate off --conf-evidence raw` to reproduce
it (two rows rerun with the flags, `mhad_dd_official` and `sh_dd_raw`, match to the last digit).
What the new defaults cost: on the Stacked-Hourglass development subject S8 the v5 gain came mostly
from moving joints to Human3.6M's definitions (raw 35.75 with them, 49.71 without, triangulation
58.84), and on the stereo-aware MHAD detector the gate returns triangulation (35.26 raw; v5 gave
31.00). What they buy: no file x protocol cell worse than triangulation (v5: 4 metric cells, among
them MHAD official 30.49 vs 28.48, and on a held-out stereo-aware file from another dataset 33.21 vs
30.07 raw and 43.02 vs 28.74 official, measured by the issue's author). If your ground truth uses
Human3.6M's joint definitions and a per-view detector, `--definitions model` is what you want.

**In short, v5** (the shipped model's weights, unchanged: pelvis from the hips, per-joint noise
profile input, definition offsets, and real Stacked-Hourglass pairs of S1/S5/S6/S7 mixed into
training at a jittered level).
- **Triangulation baseline:** binopose reproduces the reference numbers exactly (MHAD raw 35.26 /
  102.56 / 27.66, official 28.48 / 39.01 / 21.40).
- **The pelvis from the hips** is the largest single gain on MHAD. Its detector puts the pelvis about
  100 mm off, and the pelvis is its noisiest joint, while the hips are among its best. Triangulation
  with the pelvis as the hips' midpoint (`--root hips`, nothing fitted, protocol raw) gives 30.63 /
  28.57 / 21.83, inside the cross-subject bar (31.0 / 30.0 / 23.0). With the test-set mean subtracted
  (official) it gives 27.64 / 29.33 / 20.60, below the released Dual-Diffusion output (27.76 / 32.37 /
  20.67) on all three metrics. The default model takes its pelvis from the hips too.
- **Default model on MHAD, cross-subject (headline):** **30.79 / 28.56 / 22.03** at K = 1, with
  the start level calibrated on the other subject's frames (the default of `binopose eval` under
  this protocol). This **meets the bar on all three metrics** (31.0 / 30.0 / 23.0). With the level
  matched to the other subject's 2D error size instead, it is 31.81 / 28.05 / 22.76. Against
  triangulation with the pelvis from the hips (30.63 / 28.57 / 21.83), the learned prior is about
  neutral: on this low-noise, stereo-aware detector with its own joint definitions, it adds little
  beyond the root.
- **Default model on MHAD with no statistics at all (raw):** **31.00 / 27.98 / 21.99** against
  triangulation's 35.26 / 102.56 / 27.66: better on all three metrics. This input is stereo-aware, so
  the refiner starts at the stereo family's default level, 0.2. That level was chosen when training
  ended, on synthetic validation poses only, as the start level with the smallest worst-case loss over
  true levels 0.1–1.4 (`docs/img/levels.png`, `python experiments/default_levels.py`). At level 1, the
  default until this change, the same weights gave 35.31 / 34.06 / 26.21: MPJPE 0.05 mm worse than
  triangulation. **Disclosure:** the rule was written after MHAD sweeps had shown that low levels
  suit it. No MHAD frame enters the rule, but its author knew which way MHAD leans.
- **Per-view detector, held-out subject S8** (Stacked Hourglass, raw protocol, nothing fitted):
  35.75 / 41.71 / 29.75 against raw DLT 58.84 / 65.02 / 53.98, i.e. **−39 % / −36 % / −45 %**
  (target 30 % on all three, goal 45 %). The cross-subject default (no bias, calibrated level) gives
  35.75 on S8. It stays at 35.7–36.1 for any start level from 0.7 to 1.3. The v4 model gave
  35.8 only at level 1.0 and about 50 elsewhere: it had learnt the real pairs' single training level
  as a flag (`real_pairs.level_jitter` fixes that).
- **Ablations:** the dual forward process (2D noise triangulated) against isotropic 3D noise, the
  Z-embedding and the definition offsets each matter on both test sets; see the ablation section.
- **GPU:** training and refinement run on a CUDA GPU too, with the same results. On an H100,
  refinement runs at 740,000 poses/s, or 1,000,000 with `torch.compile` (`binopose eval/refine
  --compile`), and training at 317,000 samples/s. See [BENCH_GPU.md](BENCH_GPU.md).

What fell short of the issues' targets is listed in the last section.
""",
    "no_harm": """\
Reading it:
- **Harmed cells** (a metric worse than triangulation of the same input): v5 4 (MHAD official MPJPE
  and PA, SH S8 official MPJPE and MPJPE-rel), definitions kept without a gate 4 (MHAD raw MPJPE and
  PA, MHAD official MPJPE and PA), the gate 0, the gate at its lower bound (the default) 0. Mean MPJPE
  over the six cells: triangulation 43.49, v5 35.25, the default 39.07.
- The gate's decision is per recording (here: per fold): the shrinkage toward triangulation that
  minimises the estimated risk, with the noise level estimated from the input's own triangulation
  residual and the risk from probes re-noised at that level (`src/binopose/guard/`). On MHAD's
  stereo-aware input it finds no reliable gain and returns triangulation (weight 0); on SH S8 it
  keeps the whole correction.
- The rule that chose the default was written before these numbers (git log: "Pre-registered
  2026-12-03 09:14 / 09:16 / 10:33 UTC"). The tie between `mean` and `lcb` was broken toward the more
  conservative one; that tie-break was not pre-registered.
- **The gate's noise estimate is centred** (since 2026-12-03 15:51 UTC): the residual's mean over
  the recording (per view, joint and coordinate) is taken out before its size is measured. A residual
  that every frame shares is a calibration error or a detector's per-view bias; Stein's estimate holds
  for zero-mean noise only, and the uncentred estimate read such a residual as noise and so as room
  for gain (an 8 px calibration error on exact 2D opened the gate fully, alpha 1.0; now 0.006:
  `tests/test_do_no_harm.py`). Decided by a rule written before the result (git log: "Pre-registered
  2026-12-03 15:23 UTC ... the gate's noise from the residual about its mean";
  `PYTHONPATH=src .venv/bin/python experiments/centred_gate.py` -> `experiments/results/centred_gate.json`):
  (a) Pose2Sim pairs worse than triangulation 4 -> 2 and mean held-out px (offset removed) 22.78 ->
  22.54 (triangulation 22.63): met; (b) no harmed cell among SH S8 raw / cross-subject / official
  and MHAD raw / official: met (all five cells identical to the digit: SH S8's gate stays at alpha 1,
  MHAD's at ~0); (c) SH S8 raw within 0.5 mm of 49.71: met (49.71). The table above is from the
  rerun of `experiments/do_no_harm.py` with the centred gate.
- On the product path (MediaPipe, Pose2Sim capture, every pair judged by its two held-out cameras,
  [POSE2SIM.md](POSE2SIM.md)) the default is now better than triangulation on average by both
  held-out measures (22.5 vs 22.6 px offset removed, 88.8 vs 89.1 mm against the held-out cameras'
  triangulation) and on 4 of 6 pairs by each, worse on 2 (at most +0.2 px, +0.2 mm); before the
  change it was worse on 4 of 6 (mean 22.8 px; v5: 25.2).

### Keeping the definitions at the torso only (tried, not adopted)

The last column of the table above. `RefineOptions(definitions="keep-torso")` (`--definitions
keep-torso`) takes the systematic part of the correction out only at the joints whose definitions differ
between datasets (hips, pelvis, spine, thorax, head, shoulders, neck/nose: the ones training varies), so
a correction that every frame gets at the ankles, knees, wrists and elbows (a detector's bias there)
stays; the lcb gate follows unchanged. Judged by a rule written before the code (git log:
"Pre-registered 2026-12-03 17:38 UTC ... keep the torso's definitions only";
`PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py`, then `experiments/keep_torso.py`
-> `experiments/results/keep_torso.json`):
- (a) no harmed cell among the six: met.
- (b) six-cell mean MPJPE at least 1.0 mm below the default's 39.07: **failed**, 38.10 (needed 38.07).
  SH S8 gains 3.6 mm raw (46.14 against 49.71) and cross-subject, and loses 1.3 mm official (39.99
  against 38.68); MHAD is triangulation either way.
- (c) Pose2Sim held-out judge: met; mean 22.47 px offset removed (default 22.54, triangulation 22.63),
  88.74 mm against the held-out cameras' triangulation (88.79, 89.08), 1 pair worse than triangulation
  (cam01-cam04, +0.10 px; the default: 2).
- (d) the joint-convention test's input (wider hips, a lower pelvis, a higher head; synthetic poses
  with random limb angles around a template, 4 px): **failed**. There the network moves the ankles and wrists by up to 39 mm in every frame (32 mm after
  the lcb gate), which "keep" removes and "keep-torso" lets through: MPJPE 53.2 against "keep"'s 51.8
  (triangulation 80.3). So the limbs' systematic correction is not only a detector's bias: the network
  also moves the limbs when the torso follows another convention.
- Not adopted; the option stays (its help says why it is not the default).

### A shrinkage per joint in the gate (tried, not adopted)

The column "kept + gate per joint (lcb)". Stein's risk estimate is a sum over output joints, so the gate
can take one shrinkage per joint (`--gate lcb-joints`: alpha_j from joint j's own sums, each at its 90 %
lower bound) instead of one for the recording. Judged by a rule written before the code (git log:
"Pre-registered 2026-12-03 17:43 UTC ... a shrinkage per joint"; `experiments/do_no_harm.py`, then
`PYTHONPATH=src .venv/bin/python experiments/joint_gate.py` -> `experiments/results/joint_gate.json`):
- (a) no harmed cell: met.
- (b) six-cell mean at least 0.2 mm below the default's 39.07: **failed**, 39.13. MHAD is unchanged
  (every joint's alpha is 0); on SH S8 the per-joint gate keeps 0.35-1.0 of each joint's correction
  where the single gate keeps all of it, and the poses get worse (raw 49.86 against 49.71).
- (c) Pose2Sim: **failed**, 22.60 px against the default's 22.54, and 4 pairs worse than triangulation
  (the default: 2); 88.74 mm against 88.79.
- (d) `tests/test_do_no_harm.py` with it as the default: met (18 passed).
- What it shows: the risk estimate credits only the part of the correction that acts on the noise it
  can see, the views' independent noise. The noise both views share leaves no residual, so removing it
  earns no credit, and per joint (with 17 lower bounds instead of one) the estimate is more cautious
  than the truth. The single gate at alpha 1 on SH S8 is right; its per-joint parts under-credit it.
- Not adopted; `lcb-joints` stays an option. Its implementation made the chunked gate keep sums instead
  of per-frame terms (`guard.SteinSums`): with one probe round, which every input over 256 frames has,
  the gate now holds nothing per frame (before: 16 bytes a frame). The default's poses are unchanged
  (the six cells' alphas agree to the last bit but one).

### Any noise level, and a start level from the input (tried, not adopted)

`PYTHONPATH=src .venv/bin/python experiments/input_level.py` (SH S8, raw protocol, the detector's own 2D
errors rescaled: input = gt + f (pred - gt); everything else the defaults). Cells: MPJPE / MPJPE-rel /
PA-MPJPE, mm.

| f | triangulation | **default** (family level 1) | A: level from the input (level) | B: A + profile from the input |
|---:|---|---|---|---|
| 0.25 | 14.71 / 16.25 / 13.21 | 14.66 / 16.21 / 13.17 | 14.66 / 16.21 / 13.17 (stereo: unchanged) | 14.66 / 16.21 / 13.17 |
| 0.5 | 29.41 / 32.50 / 26.63 | 28.49 / 31.14 / 25.21 | 28.57 / 31.24 / 25.47 (0.40) | 29.17 / 31.81 / 25.96 |
| 0.75 | 44.12 / 48.75 / 40.23 | 39.37 / 41.47 / 34.98 | 39.08 / 41.27 / 35.16 (0.61) | 41.53 / 44.15 / 37.04 |
| 1.0 | 58.84 / 65.02 / 53.98 | 49.71 / 51.33 / 44.63 | 49.66 / 51.26 / 44.59 (0.83) | 53.31 / 55.48 / 47.63 |
| 1.5 | 88.36 / 97.62 / 81.74 | 73.08 / 74.51 / 66.00 | 73.06 / 74.50 / 66.00 (1.23) | 78.08 / 80.03 / 69.66 |
| 2.0 | 117.96 / 130.29 / 109.29 | 98.43 / 100.28 / 88.69 | 100.43 / 104.19 / 89.80 (1.62) | 105.82 / 110.01 / 93.06 |

- **The default is not worse than triangulation at any of the six error sizes** (from a quarter to
  twice the Stacked-Hourglass errors). At f = 0.25 the input reprojects almost exactly and is routed to
  the stereo-aware family (gain 0.05 mm); at f = 0.5 the gain is 3 %, at f = 1-2 it is 16-17 %.
- **Tried under a rule written before the code** (git log: "Pre-registered 2026-12-03 15:14 UTC ...
  a start level from the input itself"): when no statistics are given, set the per-view start level
  from the input's own triangulation residual (A, `RefineOptions(level_from="input")`), or that and
  the per-joint profile (B, `"input-profile"`), instead of the family's fitted level 1. Both fail the
  rule: A's mean MPJPE over the six sizes is 50.91 against the default's
  50.62 (needed: 0.5 mm lower) and it is 2.0 mm worse at f = 2 (limit 1.0);
  B is worse wherever it differs (mean 53.76). The network's best start level does not
  scale with the input's noise: level 1 beats the residual's 1.62 at f = 2 and its 0.40 at f = 0.5.
  The Pose2Sim half of the rule was therefore not run. Both stay available as options (not on the
  command line); the default is unchanged.
""",
    "stress_intro": """\
Do the defaults stay out of harm with errors that no file here has? `PYTHONPATH=src OMP_NUM_THREADS=1
.venv/bin/python experiments/stress.py --seed S --arms independent,common` (about 3 minutes):
held-out Human3.6M S8 poses, 1,000 per recording, one rig per recording, four rigs from a phone pair
(0.12 m baseline, 2.5 m away) to a wide studio pair (3.9 m, 8 m), and synthetic detectors with eight
error structures at three sizes (0.5, 1.5 and 4 % of the person's size in the image): independent per
joint and view, shared by both views (stereo-aware), heavy-tailed (Student's t, 3 degrees of freedom),
a per-frame offset of the whole pose in each view (plus a third of it per joint), constant per-joint
biases, a calibration error (a constant per-view offset), half shared and half independent, and 5 %
outliers five times the size. Each recording goes through `Refiner.refine` with the defaults of
`binopose refine` (no statistics, family from the input, definitions kept, lcb gate), and with the
candidates of the rules below. A cell is harmed
where any of MPJPE, MPJPE-rel and PA-MPJPE is worse than triangulation of the same input (the issue's
criterion, fixed before the first run). Table: harmed cells of 12 per structure, and in brackets the
summed MPJPE excess over triangulation. Picture: the default's MPJPE change per cell (seed 0).
""",
    "stress": """\
- **The first run (seed 0) found the gate's blind spot**: a per-frame offset of the whole pose. The
  network answers such errors by changing the pose's shape (MPJPE-rel up to +9.7 mm, PA +9.7 mm), and
  the gate, whose random probes were independent per joint, could not see how the network answers
  shared errors: it kept alpha at 1. Six of twelve frame-offset cells were harmed, by up to 6.4 mm
  MPJPE.
- **The fix, under a rule written after that run and before the fix's results** (git log:
  "Pre-registered 2026-12-03 18:10 UTC ... the gate's probes with a per-frame common part";
  `experiments/common_gate.py` -> `experiments/results/common_gate.json`). The probes' noise gets a
  per-frame part that every joint of a view shares (`--gate-noise common`,
  `guard.ResidualSums.noise`). Its size comes from the residual's common mode: the variance over frames
  of the per-frame mean residual, less what the joints' own noise puts there.
  - (a) A fresh draw (seed 1: other poses, rigs and errors): 10 -> 5 harmed cells, and MPJPE excess
    29.8 -> 2.4 mm. Met.
  - (b) The six benchmark cells: no harmed cell, mean 39.07. Met: every cell is the same to the digit.
  - (c) Pose2Sim held-out judge: 22.534 px (22.537 before), 2 pairs worse than triangulation (2), and
    88.77 mm (88.79). Met.
  - (d) `tests/test_do_no_harm.py` and `tests/test_streaming.py` pass with it as the default. Met.
  - It became the default (`gate_noise="common"`). `tests/test_do_no_harm.py::
    test_a_per_frame_offset_of_the_whole_pose_is_not_made_worse` fails with the old probes.
- **The default over twelve draws** (seeds 3 and 4 run afterwards, the default alone:
  `experiments/stress.py --seed 3 --arms default --json experiments/results/stress_seed3.json`, and
  likewise 4; seed 5 for the rule of 19:17 UTC, `--json experiments/results/stress_seed5_v5.json`; seeds
  6-11 for the rules of 20:02-20:20, their `ignore` arm, below): 4, 5, 6, 3, 6, 5, 4, 6, 5, 3, 5 and 6
  harmed cells of 96, MPJPE excess 2.2, 2.4, 48.0, 1.6, 4.8, 11.7, 5.2, 9.9, 54.6, 2.0, 12.5 and 10.2 mm.
  Every harmed cell but one is harmed in MPJPE alone; the exception is the phone rig with a 4 %
  calibration error in seed 8, whose triangulation is already 5,353 mm off (refined 5,402, PA-MPJPE
  worse too). MPJPE-rel is never worse than triangulation.
- **What is still harmed**, in all draws, and only in MPJPE (MPJPE-rel and PA improve in every one of
  these cells):
  - a calibration error (1-3 cells of 12 in each draw). In seeds 0, 1, 3, 4, 6 and 9 by 0.3-3.5 mm in
    all; by 7.7-11.0 mm in one cell of seeds 5, 7, 10 and 11 (seed 5: the studio rig at 4 %, 411.5 ->
    422.1, MPJPE-rel 116 -> 79); by 49 mm in seed 8 (above); in seed 2 one cell by 43 mm: the desk rig at 1.5 %, whose constant offsets happened to be large (triangulation
    already 269 mm off, MPJPE-rel 166), refined to 312 mm (MPJPE-rel 119, PA 106 -> 84). The centred
    gate removes such an offset from the noise, but the network's answer to the constant 3D bias it
    causes, mostly in depth, is not what Stein's estimate measures: with a biased input, a correction
    that fixes the shape can move the whole pose away from where it is. **With a bad calibration the
    refined poses have better shapes but can be placed worse than triangulation's.** Since then `binopose
    run` / `refine` warn when a recording's views disagree by a constant above 5 px (docs/ROBUSTNESS.md,
    "Views that disagree by a constant"); the 43 mm cell's views disagree by 9.2 / 9.5 px, so it is
    warned; a shift along the epipolar lines shows nowhere, and such a bias goes unsaid.
  - 5 % outliers at the smallest size (0.5 % of the person, about 2-4 px), by 0.04-1.0 mm (2 cells in
    each draw). The probes are Gaussian, and the network's answer to rare large errors is not;
  - one frame-offset cell in seeds 1, 2 and 4, by at most 0.1 mm.
- **Tried, not adopted: the shrinkage in two parts** (rule of 18:23 UTC, written after seeds 0 and 1;
  `--gate lcb-split`, `experiments/split_gate.py` -> `experiments/results/split_gate.json`): one alpha
  for the correction's per-frame mean over the joints (where the pose is) and one for the rest (its
  shape); Stein's estimate splits exactly over the two. (a) Fresh draw, seed 2: 6 harmed cells, as
  many as the default (needed: fewer), MPJPE excess 16.4 against 48.0 mm: **failed**. (b) Six cells:
  no harmed cell, but mean 39.72 against 39.07 (limit +0.3): **failed**; SH S8 loses 1.6-1.7 mm. (c)
  Pose2Sim 22.59 px against 22.53 and 3 pairs worse: **failed**. It stays an option.
- Everywhere else the default is better than triangulation or equal to it. Shared noise
  (stereo-aware detectors) always returns triangulation (alpha 0). Per-joint biases get small alphas
  (0.1-0.5, but 0.9-1.0 on the phone rig at the larger sizes) and gains of 2-50 %. The phone rig gains
  the most (for example 184 -> 128 mm with independent errors of 0.5 %, seed 0).
""",
    "view_bias_intro": """\
The harm that remains in every draw is a calibration error's: the network moves the whole pose, and a
bias is what Stein's estimate cannot see. `RefineOptions.view_bias` (`--view-bias`) can hold each frame's
position (the correction's per-frame mean over the joints) at triangulation's and gate only the shape,
where the recording's residual has a constant part above 1 % of the person's size over at least 30
frames (`hold-position`), or where that part also stands 3 standard deviations of a frame's common mode
above zero (`hold-strict`: it shows in every frame, as a calibration error does)
(`binopose.guard.held_parts`; offline, chunked and live from the same residual sums). Three rules, each
written before its runs (git log: "Pre-registered 2026-12-03 20:02 / 20:15 / 20:20 UTC"), each judged on
fresh stress draws: `PYTHONPATH=src .venv/bin/python experiments/view_bias.py --rule 20:02 | 20:15 |
20:20` (JSON: `experiments/results/view_bias*.json`). Per draw: harmed cells of 96, MPJPE excess over
triangulation, and the MPJPE given up against `ignore` (summed increases over the cells):
""",
    "view_bias": """\
- **20:02, hold-position: met, adopted, then reverted.** Seeds 6 and 7: 10 -> 9 harmed cells, excess
  15.1 -> 5.5 mm, no cell harmed by it alone; the six benchmark cells unchanged to the digit; Pose2Sim
  22.546 px (22.534), 88.84 mm (88.77), the same 2 pairs worse. It became the default (f4f1d26).
- **What that rule did not weigh**, seen in the same runs: the 1 % flag also fires on large noise with
  a weak geometry (the phone rig at 4 %), where the constant comes from the noise, not the rig, and holding
  the position there gives up 1,400-2,800 mm of summed MPJPE per draw (the phone rig's independent
  errors at 4 %, seed 6: ignore 824 mm, held 1,109, triangulation 1,725). Both arms stay better than
  triangulation in those cells.
- **20:15, hold-strict: failed (a).** Seeds 8 and 9: it gives up far less (41 and 339 mm), but harms 11
  cells against ignore's 8, 3 of them alone: calibration cells held at triangulation's position come out
  0.06-1.6 mm worse than triangulation (with a large bias shared by all joints, a better shape can
  still lengthen the joints' error vectors). (b)-(d) met.
- **20:20, does hold-position replicate? No.** Seeds 10 and 11 (the 20:02 rule's criterion (a) again): 13
  harmed cells against ignore's 11, 4 of them alone, though excess 4.7 against 22.6 mm. The default went
  back to `ignore`; both holds stay options.
- **Over the six draws**: holding the position turns the rare large harms of a calibration error (up to
  49 mm, above) into more frequent small ones (at most 1.6 mm), and gives up much of the gain on
  weak-geometry rigs. Neither is "no harm". The warning of docs/ROBUSTNESS.md ("Views that disagree by a
  constant") stays the answer for now: recalibrate.
""",
    "v8_intro": """\
The issue asks for the product's detector to be fitted without ground truth and trained on with the
others. MediaPipe's error model was fitted leave-one-out on the Pose2Sim capture (each camera's
detections against the triangulation of the three others: `experiments/mediapipe_errors.py`,
[POSE2SIM.md](POSE2SIM.md)); `noise.extra_models` / `noise.extra_weight` now let any fitted detector's
model join training as a family of its own (its bias removed, as the per-view family's is). Candidate
v8 is the v5 recipe with one change: that family for 25 % of the synthetic samples (stereo-aware and
per-view 37.5 % each; real Stacked-Hourglass pairs still 1/4 of each batch): `binopose train --config
configs/v8.yaml` (31 min on the 2-core CPU, 19:18-19:54 UTC while the stress run below shared the
CPU). Rule written before the code (git log: "Pre-registered 2026-12-03 19:17 UTC ... v8 = v5 with the
MediaPipe error family in training"); judged by `PYTHONPATH=src .venv/bin/python experiments/v8.py`
-> `experiments/results/v8.json`, every arm with the CLI defaults:
""",
    "v8": """\
- **(a) The six cells: failed.** No cell is worse than triangulation, but the mean MPJPE is 39.57
  against the limit 39.37 (v5 39.07): on Stacked-Hourglass S8 v8 loses 0.7 mm raw (50.45 against
  49.71), 0.7 mm cross-subject and 1.5 mm official. MHAD is triangulation with both models (the gate
  closes). On synthetic validation poses at level 1, too, v8 ends worse than v5 in the two families it
  gave room to: stereo-aware 46.7 against 45.9 mm, per-view 223 against 209 mm.
- **(b) Pose2Sim: met, by a hair.** 22.526 px against v5's 22.534 (triangulation 22.63) and 88.69 mm
  against 88.77 (89.08); 2 pairs worse than triangulation in px (cam01-cam02, cam02-cam03), 1 in mm.
  Disclosure: the family was fitted on this capture. What the family did change is the network alone
  (definitions kept, no gate): 22.61 px against v5's 22.86, so it no longer makes the average pair
  worse than triangulation (22.63), though it still does on 4 of 6 pairs; the gate then keeps about
  as much of either.
- **(c) Stress, fresh draw (seed 5): met.** 5 harmed cells of 96 with either model; MPJPE excess
  2.5 mm (v8) against 11.7 mm (v5).
- **(d)** not run, since (a) failed. v5 stays the shipped model; `configs/v8.yaml` and
  `configs/error_models/mediapipe.json` stay, to rebuild v8.
- **What it says:** MediaPipe's errors on this capture are small (1-3.5 px, 0.95 % of the person's size
  against the Stacked-Hourglass family's 3.3 %) and the held-out cameras that judge the pairs have
  about 11 px of their own, so a better prior for them has little to show here, while the share it
  takes from the other families costs the per-view detector about a millimetre.
""",
    "missing_intro": """\
A joint missing in one view (NaN or confidence 0: occlusions in OpenPose files, dropped keypoints in
a user's own data) cannot be triangulated; it stays missing in the output. What it costs the other
joints was measured on the Stacked-Hourglass development subject S8 (real detections, raw protocol):
in 20 % of the 6,482 frames one random joint (never the pelvis) drops out of one random view
(`PYTHONPATH=src .venv/bin/python experiments/missing_joints.py`). Cells: the MPJPE of the other
joints minus the same with nothing dropped, over all frames; "network" is the network with the
definitions kept and no gate, "default" the CLI default (the gate keeps alpha 1 on S8, so the two
agree).

- **Two defects found on the way, fixed at 2de26d3** (each with a test that fails without it:
  `tests/test_do_no_harm.py::test_a_frame_with_a_missing_joint_keeps_the_definitions_too`,
  `::test_a_hip_missing_in_one_view_leaves_the_pelvis`):
  - `keep_definitions` returned every frame with a missing joint unchanged, so such a frame kept the
    refiner's (Human3.6M's) definitions at all its other joints while its neighbours kept the
    detector's: a silent jump in an exported marker set. Now the recording's offset comes out of it
    too, turned by its own body frame; a frame with no body frame (a hip or the thorax missing) is the
    triangulation. Offline, chunked and live alike.
  - With the pelvis taken from the hips, a hip missing in one view left the pelvis missing, and with
    it every root-relative number of the frame. Now such a frame keeps the detected pelvis in both
    views (one definition in both).
  - Measured with the defaults (mode A): before the fixes the frames with a dropped joint looked
    *better* than with nothing dropped (excess -2.08 mm over all frames), because they were in
    Human3.6M's definitions; after, the other joints of those frames are 54.41 against 49.92 mm
    (+0.84 over all frames), and no pelvis is lost (before: one for every dropped hip).
- **Three ways for the network to take such a joint**, under rules written before each run (git log:
  "Pre-registered 2026-12-03 21:18 UTC ... missing keypoints" and "21:33 UTC ... second try"): A as
  before (the joint filled with the pose's centroid; its one seen view's residual against that fill
  is evidence), B no evidence from either view, C B plus one network pass whose guess replaces the
  centroid fill. B was to be adopted if its excess was below A's in all four cells.
""",
    "missing": """\
- **Both rules failed; A stays.** On S8, B is 0.15-0.24 mm worse than A in every cell, both before and
  after the fixes; C beats A only at K = 1 after the fixes (+0.76 against +0.84). On the synthetic
  input that suggested the change (`stereo_views`, 3 px, a wrist missing in one view) B had cut the
  other joints' excess from +2.45 to +0.04 mm; on real detections with their larger errors the seen
  view's residual seems to be worth more than it costs. The first rule's numbers were distorted by
  the definitions defect (which credited whichever mode corrected most), hence the second run.
- **Still short:** a missing joint costs the other joints of its frame about 4.5 mm on S8 (0.84 mm
  over all frames when a fifth of the frames lose one joint). The network never saw a missing joint
  in training; `tests/test_do_no_harm.py::test_a_missing_keypoint_does_not_spoil_the_rest` bounds how
  far they move (25 mm), not how much worse they get. A frame that loses a hip or the thorax is
  returned as the triangulation.
""",
    "guard": """\
MHAD is the only real stereo-aware test file here, and hidden test files of the same format, from
other rigs, subjects and detectors, are run against the shipped model. So the model and its defaults
are meant to be fixed without MHAD:

- **Training data:** no MHAD frame is used to train, to fit an error model or to choose a checkpoint.
  The training data are 3D poses of Human3.6M S1/S5/S6/S7 and Bandai-Namco. The per-view error model
  and the real detector pairs come from Stacked-Hourglass detections of S1/S5/S6/S7. The shipped
  weights are the EMA at the last step of the recipe; no checkpoint is picked by any score.
- **Validation:** held-out Human3.6M S8 poses and every 10th Bandai-Namco clip, on virtual rigs with
  both error families. The default start levels are chosen on the same poses. For a real detector,
  S8 of the SH file is held out: it is never in the poses, the error model or the real pairs.
- **Stereo-aware error family:** its sizes were set after the measurements that `BENCHMARK.md`
  publishes ("What the errors look like"), as the brief asks; no parameter was fitted to MHAD frames.
  Its disparity share is larger than those measurements suggest (v6 under "What is short").
- **Cross-subject:** everything fitted on the benchmark file (the pelvis bias, the per-joint profile,
  the calibrated start level) uses only the other subject's frames.
- **Known leaks of attention,** where a choice was made after MHAD numbers had been seen (each is
  disclosed where it is described):
  - v5 was shipped after it was compared with v4 on these files, although its one change came from
    the SH development sweep;
  - the calibrated-level mode was written after the matched-level numbers were seen;
  - the rule behind the stereo family's default level was written after sweeps showed that MHAD
    prefers low levels;
  - v6 (less disparity noise) was trained after a per-joint analysis of MHAD errors. Whether to ship
    it was decided by a rule committed before it finished training. It failed that rule and was not
    shipped.
  - v7 (a correction that shrinks with the noise level) came from a synthetic measurement, not from
    MHAD, but it was judged on MHAD by a rule committed while it trained. It failed and was not
    shipped.
  - the default 2D bias of dualdiff under cross-subject became `root` (was `mean`). The reason was SH
    S8 (50.92 against 35.75), and the MHAD headline had always used `root`. But MHAD's number with
    `mean` (37.68) had been seen before the change.
  - S8 of the SH file chose several defaults (the cross-subject bias, the level jitter of the real
    pairs), so it is a development subject, not a test subject; the range of definition scales in
    the per-view family and the pelvis from the hips were chosen after MHAD had been seen.
  - the do-no-harm defaults (issue 15) were chosen on MHAD and SH S8 by rules committed before the
    code; the tie between the gate at its mean and at its lower bound was broken toward the lower
    bound without a rule.
- **How the hidden files will judge it** (the raw protocol, the CLI defaults since 2026-12-03): no
  file x protocol cell of MHAD and SH S8 is worse than triangulation of the same input (the next
  section), on MHAD the output is triangulation, on SH S8 it is 15 % better. Under v5 (model
  definitions, no gate) the refiner was better than triangulation on MHAD and SH raw on every metric
  but worse under the official protocol on both files, and worse on a held-out stereo-aware file from
  another dataset under every protocol.
""",
    "official": """\
- The start level comes from `pred2d_err_scale_px`, which gives σ ≈ 0.91 of the stereo family. That
  scale mixes in the per-frame offset of the whole pose, which a single-frame prior cannot remove, so
  the level is high for this detector and the prior pulls joints toward its training definitions.
  Measured per joint (mean error, camera frame), at level 0.9 the refiner moves torso joints in
  depth: right hip −19.4 mm, right shoulder −12.8, thorax +12.2, spine −10.5. The means of
  triangulation with the pelvis from the hips stay within 2 mm there. At level 0.1 the refiner's
  per-joint errors are within about 1 mm of triangulation's. The stereo-aware family's per-joint
  depth noise at that level is larger than this detector's (see v6 under "What is short").
  K = 2 or 3 is better than K = 1 by about 0.7 mm. Perturbed hypotheses (H = 5) make MHAD worse.
- The per-joint noise profile comes from the same scale: the pelvis is the noisiest joint, the hips
  among the best.
- dualdiff (30.49 / 31.85 / 23.72) beats the released MPJPE-rel (32.37) but not triangulation's MPJPE
  (28.48) or PA (21.40). K = 3 gives 30.41 / 31.13 / 23.31.
- The protocol allows the scale but does not require it. With the mean subtracted and the scale left
  unused (`--no-match-noise`), the stereo-aware family's default level (0.2, chosen on synthetic data,
  see "Default start levels") gives 28.34 / 28.50 / 20.87. That beats triangulation (28.48 / 39.01 /
  21.40) on all three metrics and the released MPJPE-rel, but not the released MPJPE (27.76) or PA
  (20.67). Nor does it beat triangulation with the pelvis from the hips (27.64). The default of
  `binopose eval` under this protocol stays the matched level. This row was added after the level
  rule, and the default was not switched to whichever variant scored better here.
- Without the test-set mean (`--bias none`) MHAD gives 34.72: the mean is most of what this protocol
  gives. The calibrated bias (`--bias calibrated`, tried on 2026-11-28 for the development set's
  problem, see "What is short") gives 29.89 / 33.44 / 23.01. It is not the default.
- **Where the released model's gain comes from: it was trained on MHAD.** The released model was
  trained on ten MHAD subjects (S01–S07, S09, S10, S12; `REFERENCE.md`), with this detector, this rig
  and this skeleton. The only MHAD data here is the test file, and nothing in it may train a model.
  The picture shows the length of each joint's mean 3D error vector
  (`python experiments/joint_bias.py`, `experiments/results/joint_bias.json`):

  ![joint bias](img/joint_bias.png)

  - The released output's systematic errors are at most 3.5 mm on every joint: it knows MHAD's
    joint definitions. Triangulation's are small too (at most 4.8 mm), because the protocol subtracts
    the test set's own mean 2D error.
  - 0.44 of the released model's 0.72 mm gain over triangulation comes from one joint, the pelvis
    (per-joint MPJPE 40.2 → 32.7 mm). It predicts MHAD's pelvis from the other joints, which is learnt
    from MHAD.
  - Our refiner was trained on Human3.6M and Bandai-Namco poses. At the matched level it adds
    systematic errors of 8–20 mm on the hips, spine, thorax, head and shoulders: it pulls them toward
    its training definitions. At the family's default level these are 2–5 mm. Its pelvis, taken from
    the hips, is off by 13 mm: the hips' midpoint is not MHAD's pelvis.
""",
    "levels": """\
The start level for inputs without 2D statistics (`binopose refine`, the raw protocol), per error
family, chosen when `binopose train` ends (`validate.with_default_levels`); for the shipped model by
`python experiments/default_levels.py src/binopose/assets/default_model --write`, with the weights
unchanged. Each cell is refinement MPJPE over that of triangulation of the same input. The inputs are
the validation poses on virtual rigs, with the family's errors at the true level of the row, and the
refiner starts at the level of the column.
- **Stereo-aware family.** Its size is a preset, and such a pair reprojects exactly, so nothing in the
  input tells its level. The default is the column whose worst excess over the best column is
  smallest (minimax regret): **0.2**. Starting high costs much more on a quiet detector than starting
  low costs on a noisy one: at true level 0.1, level 1.0 gives 2.3 times triangulation's error,
  while level 0.2 is never more than 0.10 (of triangulation's error) behind the best column, at true
  level 1.4.
- **At the lowest true levels (0.1–0.2)** every column is worse than triangulation: the model's own
  floor. At true level 0.1 it gives about 6.2 mm where triangulation gives 5.2.
- **Per-view family.** It was fitted on a real detector, so it keeps level 1, its measured size.
""",
    "cross": """\
- **Statistics:** for each subject, the per-joint profile comes from an error model fitted on the
  other subject's 2D pairs. No 3D ground truth of the test subject is read, and labels are never an
  input.
- **Start level.** By default it is calibrated: the level with the lowest MPJPE on the other
  subject's frames is used, from a grid of 0.05–1.3 refined by golden section (`--level auto`,
  `evaluate.calibrate_level`). The other subject's frames serve as a validation split; the test
  subject's frames do not.
  - S08's level comes from S11's frames and S11's from S08's; they are far below the matched ones
    (0.56 and 0.43 with v4).
  - Calibrated against matched: MPJPE 30.79 against 31.81, PA 22.03 against 22.76. MPJPE-rel is 0.5
    mm worse (28.56 against 28.05).
  - On this detector, lower levels move the output toward the triangulation with the pelvis from the
    hips.
- **K:** K = 3 does not help once the level is calibrated (31.13 against 30.79).
- **The pelvis 2D bias** (`--bias root`) no longer matters for dualdiff: the model takes its pelvis
  from the hips. `--bias root` is the default for dualdiff under this protocol.
- **The other joints' 2D bias** (`--bias mean`, the default until 2026-11-28) makes MHAD much worse:
  37.68 / 36.16 / 27.33. Its non-pelvis biases differ between S08 and S11, so the other subject's do
  not transfer. The calibrated bias (`--bias calibrated`, see "What is short") gives the same, 37.61.
- **Body-frame offsets** fitted on the other subject (`--body-offsets`) hurt on MHAD. Its non-pelvis
  biases differ between S08 and S11, as `BENCHMARK.md` warns.
""",
    "sh": """\
- **Only S8 is honest here:** the default model was trained on real pairs of S1, S5, S6 and S7 of this
  file (`real_pairs` in `configs/default.yaml`), so their rows are training-set numbers.
- **Held-out S8, raw protocol:** 35.75 / 41.71 / 29.75 against raw DLT 58.84 / 65.02 / 53.98, i.e.
  −39 % / −36 % / −45 %. The single-frame MLP of `BENCHMARK.md` (synthetic pretraining + real pairs of
  other subjects) reached 35.92 / 41.45 / 30.59 on the same subject.
- **Sampler variants on S8:**
  - K = 2 gives 34.07 / 39.75 / 29.61 (−42 % / −39 % / −45 %), and K = 3 gives 34.41 / 40.22 / 29.44.
  - On the training subjects, more steps are worse (whole file: K = 1 33.43, K = 2 37.84), because
    K = 1 is where the real pairs were fitted.
  - Five hypotheses chosen by reprojection error are worse on S8 (36.90).
  - The default stays K = 1. S8 is the only held-out subject, and choosing K on it would make it a
    validation set.
- **Cross-subject, no bias, calibrated level (the default):** 33.59 / 38.02 / 29.66 over the file,
  S8 35.75 (with the matched level: 35.73). The training subjects (S1, S5, S6, S7) come out close to S8 (30.2–34.0).
  With v4, the matched level gave 61.95 on S7, because that model only worked at its single
  training level.
- With the mean 2D bias subtracted first (`--bias mean`), S8 gets worse (50.92 / 64.64 / 41.49). The
  model has learnt to correct this detector's biases itself, so subtracting them as well corrects
  twice.
  - Until 2026-11-28 `--bias mean` was the default of `binopose eval` for dualdiff under
    cross-subject, although every headline row here and in the MHAD section passed `--bias none` or
    `--bias root`. A user who ran the command without the flag got S8 50.92 instead of 35.75, and
    MHAD 37.68 instead of 30.79. The default is now `root` for dualdiff under cross-subject (the
    same as `none` for a model that takes its pelvis from the hips). Triangulation keeps `mean`.
  - The official protocol has the same problem: the test-set mean, subtracted, gives S8 47.69, which
    is worse than triangulation of the same input (47.11); the raw input gives 35.26. Its default is
    unchanged (see "What is short": the calibrated bias).
- **Pelvis from the hips** changes little on this detector (68.89 / 75.36 / 62.16 against 69.01 /
  77.10 / 62.34), whose pelvis is good: it does not hurt where it is not needed.
- **Raw DLT over the whole file** comes out at 69.01 / 77.10 / 62.34, against 68.91 / 76.98 / 62.17
  in `BENCHMARK.md`. binopose solves the linear equations in least squares with the homogeneous
  coordinate fixed to 1. The reference used SVD (unit norm). The two agree exactly for
  epipolar-consistent input (MHAD) and differ by about 0.1 mm on independent per-view errors.
""",
    "ablations": """\
Each ablation switches off one idea of the recipe. All are trained for the same short budget: 1000
steps of 512 samples, 1/10 of the default's samples, without the real detector pairs
(`real_pairs.fraction=0`; `bash experiments/train_ablations.sh`). MHAD uses the official protocol. SH
uses cross-subject with the mean 2D bias and the matched level; S8 is the held-out subject.

- **Dual forward process against isotropic 3D noise** (`loss.forward=3d`): the largest effect.
  - MHAD 39.01 / 44.59 / 33.37 against base 31.92 / 30.11 / 21.55.
  - SH 58.98 against 56.42.
  - Shaping the 3D noise through the stereo geometry is what makes the prior useful.
- **Without the Z-embedding** (`model.z_embedding=false`): worse on both, MHAD 34.87 and SH 60.36.
- **Without BaseL normalisation** (`model.basel_norm=false`): mixed, as before. Better on MHAD
  (29.78), worse on SH (58.34).
- **"2D-only"** (`loss.w3d=0 loss.w2d=1`, the released code's reprojection loss alone): the best
  short model on MHAD (28.63 / 30.38 / 21.01), and as good as base on SH (56.07).
- **Without the definition offsets** (`augment.definition_offset_mm=0`): worse on both, MHAD 36.29
  and SH 60.93 (S8 54.16 against 48.12).
- **Without the pelvis from the hips** (`conditioning.root_from_hips=false`): MHAD MPJPE-rel is much worse
  (44.13 against 30.11), because its detector's pelvis is off. Its MPJPE is better (30.37), and SH is
  a little worse (57.27).
- **Without the noise-profile input** (`conditioning.noise_profile=false`): SH changes little (57.20).
  - MHAD's MPJPE jumps to 58.03 while its MPJPE-rel stays at 31.63: the whole pose moves.
  - The mean error vector is +50.7 mm in depth, against +13.3 for base.
  - Stereo depth noise is skewed: z = f·b / disparity. The network learns a depth correction for the
    level it is told, and without the profile it applies too much of it to this low-noise detector.
    This reading is likely but untested.
  - Measured with `evaluate(..., dualdiff_method(Refiner.load(model), "mean"), "official")`, taking
    the mean of prediction minus ground truth.
- **Short models and the default:** on MHAD the short models are closer to triangulation than the
  full-length default. Less training means a weaker prior, and less pull toward the training data's
  joint definitions.

### The 2D reprojection loss, two more seeds (issue 15)

`PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/loss2d_seeds.py` ->
`experiments/results/loss2d_seeds.json`: the short recipe above (1000 steps of 512, no real pairs) for
`base` (3D loss) and `loss2d` (2D reprojection loss alone), seeds 1 and 2, each network alone
(`--definitions model --gate off --conf-evidence raw`). MPJPE, mm:

| run | MHAD official | SH cross-subject (mean bias, matched level), S8 |
|---|---:|---:|
| triangulation (same input) | 28.48 | 47.96 |
| base, seed 1 | 40.12 | 51.94 |
| base, seed 2 | 56.13 | 51.52 |
| loss2d, seed 1 | 28.64 | 47.43 |
| loss2d, seed 2 | 35.24 | 47.49 |

- Under the rule written before the runs (git log: "Pre-registered 2026-12-03 16:02 UTC ... the 2D
  reprojection loss, two seeds"), loss2d is **better at short length**: it has the lower MPJPE on both
  files in both seeds.
- What that means: the 2D-only network stays close to its input's triangulation. On SH S8 it is
  47.43-47.49 against 47.96, and on MHAD 0.2-6.8 mm above it, while the short 3D-loss models are worse
  than triangulation on both files.
  - MHAD official swings widely with the seed: 40.12 and 56.13 here, 31.92 for the seed-0 run in the
    table above.
  - The earlier ablation's "2D loss favoured" is therefore mostly "nearer to triangulation". The
    reprojection loss alone leaves depth, the error that stereo makes largest, almost without a
    training signal.
- The question the issue asks, full length with two seeds, is not settled: one full-length run takes 32
  minutes of this CPU and none was run. The shipped model and `configs/default.yaml` are unchanged.
""",
    "sensitivity": """\
One factor is varied at a time (base: baseline 0.5 m, distance 3.5 m, σ = 1). The test uses 1000
held-out Human3.6M S8 poses, half on convergent and half on rectified virtual rigs, with 2D errors
drawn from the model's two error families. Numbers are in `experiments/results/sensitivity.json`.

- **Where the refiner helps:** on every setting with σ ≥ 0.5. The relative error gains most:
  - stereo family: 36.7 against 45.1 at the base setting;
  - per-view family, whose heavy tails are fitted on the Stacked-Hourglass detections: 146 against
    501.
- **How triangulation behaves:** its error grows with depth and shrinks with baseline, as the
  geometry predicts.
- **At σ = 0.25** (stereo) the refiner is neutral: 11.57 against 11.20 MPJPE, 11.13 against 11.28
  relative.

These are in-distribution numbers: same error families, same joint definitions. The MHAD results
above show what a different skeleton definition costs.
""",
    "training": """\
- **Command:** `binopose train --config configs/default.yaml out=runs/v5`.
- **Time:** 5000 steps of 1024 samples took **31.9 minutes** on the idle 2-core CPU (22:11–22:43,
  2,680 samples/s).
  - **Rebuilt from scratch** with the same command after the default-level step was added
    (`binopose train --config configs/default.yaml out=runs/v5_rebuild`, 2026-11-27 23:39:56 to
    2026-11-28 00:08:07): **28.2 minutes**, of which about 25 s choose the levels. The weights and
    the error models, levels included, are **identical** to the shipped files, tensor for tensor.
  - On an H100 (`device=cuda`, thinned corpora) the same loop ran at 19,600 samples/s, about 4.5
    minutes for the recipe. See [BENCH_GPU.md](BENCH_GPU.md).
- **Log:** `docs/img/training_default.png`. The validation MPJPE on held-out poses and virtual
  rigs at σ = 1 ended at 45.9 mm for the stereo family (triangulation: 51.7) and 209 mm for the
  per-view family (triangulation: 530).
- **Ablations:** `bash experiments/train_ablations.sh` trains them in about 3 minutes each on an idle CPU.

### What is short of the issues' targets

- **MHAD, official protocol (issue 3):** dualdiff K = 1 gives 30.49 / 31.85 / 23.72. MPJPE-rel
  beats the released 32.37, but MPJPE misses the required < 28.48 and ≤ 27.76. **Missed.**
  With the scale left unused (the family's default level), MPJPE is 28.34: below 28.48, but still
  above 27.76. Triangulation with the pelvis from the hips (27.64 / 29.33 / 20.60) meets all three.
  The released 27.76 comes from a model trained on ten MHAD subjects: most of its gain is MHAD's own
  pelvis and joint definitions (see "Where the released model's gain comes from"). No MHAD training
  frames are available here, so the target asks a model trained on other datasets to beat one
  trained on MHAD, on MHAD's skeleton. We found no honest way to do that with the data here.
- **MHAD, cross-subject (issue 4):** 30.79 / 28.56 / 22.03 with the calibrated level. **All three
  bars are met.**
- **Not worse than triangulation of the same input (issue 4):**
  - MHAD under the raw protocol: better on all three (31.00 / 27.98 / 21.99 against 35.26 / 102.56 /
    27.66), with the stereo family's default level 0.2 (see the summary for how it was chosen and
    what was known when the rule was written).
  - On synthetic stereo-aware inputs the refiner is worse than triangulation at any start level when
    the detector is very precise (true level 0.1–0.2, triangulation error 5–10 mm): the model's own
    floor. At level 0.2 it is 18 % and 4 % worse there (`docs/img/levels.png`).
  - Human3.6M SH: better on all three.
- **Human3.6M SH, held-out S8:** −39 % / −36 % / −45 %: the 30 % target is met on all three.
- **Tried and not shipped: less disparity noise in the stereo-aware family (v6).**
  - The change: `binopose train --config configs/default.yaml noise.stereo_disparity=0.0007
    out=runs/v6`, 31.0 min. `BENCHMARK.md` measures MHAD's disparity error at sd 0.53 px, about a
    tenth of its 4–6 px shared error. The family's disparity at level 1 (per joint and per frame,
    0.003 of the person's size) is a quarter of its shared 0.012.
  - The rule for shipping it was committed before it finished training (commit "Pre-registered ...").
    Each MHAD subject had to prefer v6 by raw MPJPE on the *other* subject; S8 of SH could not lose
    more than 0.5 mm; MHAD raw had to stay better than triangulation.
  - It failed the first condition. On S11, v6 gives 28.54 against v5's 28.13, so S08 keeps v5. On
    S08, v6 gives 34.39 against 34.63, so S11 would take v6. **v5 stays.**
  - v6's numbers, for the record:
    - MHAD raw 31.12 / 29.65 / 22.21;
    - MHAD cross-subject 30.87 / 29.37 / 22.21;
    - SH S8 36.16 / 43.05 / 30.09;
    - **MHAD official, matched level 28.33 / 30.05 / 21.52**, below triangulation's 28.48 but not the
      released 27.76. That supports the diagnosis in the official section: at the matched level,
      the family's large depth noise makes the prior move torso joints in depth.
    - Its default stereo-aware level, chosen by the same rule, came out at 0.3.
- **Tried and not shipped: a correction that shrinks with the noise level (v7).**
  - The change: `binopose train --config configs/default.yaml model.out_level=0.3 out=runs/v7`,
    27.9 min. The denoiser's correction is multiplied by σ / (σ + 0.3), so a nearly clean input comes
    back nearly unchanged. The reason: on clean synthetic input (held-out poses) v5 adds 3.1 mm of
    MPJPE, and at true level 0.1 it is 18–23 % worse than triangulation at every start level.
  - The rule was committed while it trained (commit "Pre-registered ... v7"): v6's three conditions,
    plus a lower worst ratio to triangulation in the synthetic level table at its own default level.
  - **What it did:** the floor halved. Clean input costs 1.5 mm (v5: 3.1) and the table's worst ratio
    went from 1.235 to 1.163, with the default stereo level at 0.3. But at level 1 the validation was
    slightly worse (stereo 46.3 against 45.9 mm, per-view 213.9 against 209.2), and so was the real
    per-view detector.
  - It failed two conditions. S08 would choose on S11, where v7 gives 28.81 against v5's 28.13. S8 of
    SH gives 36.47 / 43.31 / 30.92 against 35.75 / 41.71 / 29.75, which is more than 0.5 mm worse.
    **v5 stays.**
  - v7's other numbers: MHAD raw 31.09 / 28.14 / 21.95; cross-subject 31.04 / 28.63 / 22.12;
    official (matched level) 30.21 / 30.25 / 22.84; SH whole file raw 35.69 / 40.41 / 31.64.
  - `model.out_level` stays as an option (default 0, as v5).
- **Tried and not made a default: a calibrated 2D bias (`--bias calibrated`).**
  - The problem, from the development set: when a model has learnt its detector's bias, subtracting
    the protocol's mean error corrects it twice (SH S8, above). When it adds systematic errors of its
    own (MHAD, the picture under the official section), subtracting the mean leaves them in.
  - The mode: the 2D input is shifted by the vector c (per view, joint and axis) for which the
    method's outputs, reprojected, have no mean 2D error on the frames the protocol allows fitting
    on. Under cross-subject those are the other subjects' frames, against their ground-truth 2D. Under
    official they are the test inputs, against their mean minus the protocol's mean error. c starts
    at the mean error and takes three fixed-point steps on up to 8192 frames
    (`evaluate.with_calibrated_bias`; tests: a method that has learnt its bias is exact with it and
    wrong with `mean`).
  - The rule was committed before the code (commit "Pre-registered ... calibrated 2D bias mode"),
    and it was judged on SH S8 only. It would become the default under both protocols if it beat
    `mean` by 1 mm under both, and came within 0.5 mm of `none` under cross-subject.
  - Outcome on S8: official 36.40 against `mean` 47.69 (met); cross-subject 37.84 against `mean`
    50.92, but `none` gives 35.75 (2.1 mm better: failed). **It stays an option.** It is also slow
    under cross-subject: each step calibrates the start level again (SH: 453 s against 237; MHAD: 71 s against 20).
  - MHAD, reported and not used to decide: official 29.89 / 33.44 / 23.01 (default `mean`: 30.49;
    `none`: 34.72); cross-subject 37.61 (default `root`: 30.79).
  - So, under the official protocol, it is better than the default on both files (SH S8 by 11.3 mm,
    MHAD by 0.6), but the rule asked for both protocols, and MHAD was not to decide. The official
    default stays `mean`. MHAD official still misses 28.48.
- **How many variants were tried:** v6 and v7 are the two models trained and judged after v5 shipped.
  Each was judged by a rule fixed beforehand, and both failed. Every further variant judged on MHAD
  adds a chance of passing by luck, so no model was trained after v7. The calibrated bias is an
  evaluation option, judged on SH S8 alone.
- **How much one training seed moves these numbers:** the v5 recipe with `seed=1`
  (`binopose train --config configs/default.yaml seed=1 out=runs/v5_seed1`, 28.0 min, not shipped)
  against the shipped seed 0:
  - MHAD raw 31.39 / 28.04 / 22.13 (seed 0: 31.00 / 27.98 / 21.99); per subject S08 34.55 (34.63),
    S11 28.88 (28.13);
  - MHAD cross-subject 31.06 / 28.12 / 21.85 (30.79 / 28.56 / 22.03);
  - MHAD official, matched level 30.71 / 32.20 / 24.24 (30.49 / 31.85 / 23.72); scale unused 27.84 /
    28.42 / 20.86 (28.34 / 28.50 / 20.87);
  - SH S8 raw 35.63 / 41.15 / 29.54 (35.75 / 41.71 / 29.75); validation at level 1: stereo 45.97
    (45.91), per-view 209.85 (209.16); chosen stereo default level 0.3 (0.2).
  - So a seed moves MHAD S11 by 0.75 mm and the official rows by 0.2–0.5 mm. Condition (a), which v6 and
    v7 failed (by 0.41 and 0.68 mm on S11), is inside that spread: those verdicts say "no evidence of a
    gain", not "worse". v7's SH S8 loss (0.72 mm against seed 0, 0.84 against seed 1) is larger than the
    seed spread seen there (0.12 mm). A shipping rule that compares single runs should use margins
    larger than this spread. Seed 1 was not shipped: choosing a seed by these files would be selection.
- **What would likely help next:**
  - a way to lower the model's floor on precise inputs that does not cost accuracy at level 1, as v7's
    scaled correction did (for instance a scaling learnt per level, or more training steps at low
    levels);
  - a stereo error family whose split between per-joint error and per-frame offset matches
    stereo-aware detectors, and whose disparity share is tested on a stereo-aware development set
    other than MHAD (none is available here);
  - a start level for the official protocol that does not count the per-frame offset (its scale mixes
    the two);
  - training the denoiser on real stereo-aware detector pairs, of which the repository has none
    outside the MHAD test set.
""",
}
