"""Markdown tables of docs/SELFCAL.md from experiments/results/selfcal/selfcal.json.

python experiments/selfcal_tables.py experiments/results/selfcal/selfcal.json
"""

from __future__ import annotations

import json
import sys


def calibration_table(rows: dict) -> str:
    head = (
        "| | refused (default thresholds) | rotation err (deg) | baseline dir err (deg) | scale err, height 1700 (%) "
        "| scale err, bones (%) | scale err, oracle height (%) | MPJPE true rig (mm) | MPJPE self rig (mm) "
        "| MPJPE self rig, oracle scale (mm) | root-rel. MPJPE true / self (mm) | inliers | median resid. (px) "
        "| pred. rot. std (deg) |\n|" + "---|" * 14
    )
    out = [head]
    for k, v in rows.items():
        rep = v["report"]
        out.append(
            f"| {k} | {v['refused'] or 'no'} | {v['rotation_err_deg']:.2f} | {v['baseline_dir_err_deg']:.2f} "
            f"| {v['scale_err_pct_height_default']:+.1f} | {v['scale_err_pct_bones']:+.1f} "
            f"| {v['scale_err_pct_height_oracle_det']:+.1f} | {v['mpjpe_true_rig_mm']:.1f} | {v['mpjpe_self_rig_mm']:.1f} "
            f"| {v['mpjpe_self_rig_oracle_scale_mm']:.1f} | {v['mpjpe_rel_true_rig_mm']:.1f} / {v['mpjpe_rel_self_rig_mm']:.1f} "
            f"| {100 * rep['inlier_ratio']:.0f}% | {rep['residual_px']['median']:.2f} | {rep['rotation_std_deg']:.3f} |"
        )
    return "\n".join(out)


def sync_table(sync: dict) -> str:
    out = ["| test | cases | exact | within 1 frame |", "|---|---|---|---|"]
    for k, v in sync.items():
        out.append(
            f"| {k} | {v['cases']} | {v['exact']} ({v['exact_pct']:.1f}%) | {v['within_1_pct']:.1f}% |"
        )
    return "\n".join(out)


def main() -> None:
    r = json.load(open(sys.argv[1]))
    print("## Human3.6M\n\n" + calibration_table(r["h36m"]) + "\n")
    print("## Pose2Sim\n\n" + calibration_table(r["pose2sim"]) + "\n")
    if "sync" in r:
        print("## Sync\n\n" + sync_table(r["sync"]) + "\n")
        for k, v in r["sync"].items():
            per = ", ".join(f"{c} {p:.0f}%" for c, p in v["exact_pct_per_case"].items() if p < 100)
            print(f"- {k}: below 100%: {per or 'none'}")


if __name__ == "__main__":
    main()
