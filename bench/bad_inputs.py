"""Run the binopose command over bad inputs, bad settings and outputs that cannot be written; count
tracebacks, exits with status 0 where a write failed, and answers other than one line (binopose's own;
MediaPipe's native logs are counted apart) with the expected exit code (2: the input, option or path is wrong; 1: the machine refused the write).

    python bench/bad_inputs.py [--json OUT.json] [--skip-slow] [--code OTHER/src]

Each case is a real process (``python -m binopose ...``). Failing outputs are real where the machine
allows: as root, a 64 KiB tmpfs filled up (ENOSPC) and a read-only tmpfs (EROFS) are mounted under a
temporary folder and unmounted at the end; a read-only folder is one the command cannot write to
(run as uid 65534 through ``setpriv`` when this runs as root, plain chmod 555 otherwise). Cases whose
set-up the machine does not allow are listed as skipped. Prints a table and a JSON summary.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from binopose.io_utils import json_text

ROOT = os.geteuid() == 0
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
BAD_SETTINGS = [
    "val_every=0", "ckpt_every=0", "batch_size=0", "batch_size=1", "lr=.nan", "lr=-1", "model.heads=0",
    "model.heads=3", "model.dim=0", "model.depth=-1", "ema_decay=5", "steps=-1", "schedule.steps=0",
    "lr=!!python/object/apply:os.system ['true']",
]  # fmt: skip
#: a tiny valid training run, so that the bad setting after it is the only problem
TRAIN_BASE = [
    "corpora=[{{path: {d}/corpus.npz}}]", "steps=3", "batch_size=8", "val_size=8", "warmup=1", "model.dim=16",
    "model.heads=2", "model.depth=1", "model.cond_dim=16",
]  # fmt: skip


def make_inputs(d: Path) -> dict[str, str]:
    """Valid and broken input files in ``d`` (the valid ones built by binopose itself)."""
    from binopose.geometry.rig import Camera, StereoRig, save_rig
    from binopose.io import Keypoints2D, save_keypoints_2d

    K = np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]])
    save_rig(
        StereoRig(Camera("l", (640, 480), K), Camera("r", (640, 480), K, t=[-300, 0, 0])), d / "rig.toml"
    )
    left = np.random.default_rng(4).uniform(250, 350, (17, 2))
    uv = np.stack([left, left - [60, 0]])[None].repeat(4, 0)
    save_keypoints_2d(d / "kp.npz", Keypoints2D(uv, None))
    n = 4
    X = np.random.default_rng(0).normal(0, 200, (n, 17, 3)) + [0, 0, 3000]
    bench = dict(
        kp2d_pred=uv.astype(np.float32), kp2d_gt=uv.astype(np.float32), kp3d_gt=X,
        K=np.broadcast_to(K, (n, 2, 3, 3)), R_right_from_left=np.broadcast_to(np.eye(3), (n, 3, 3)),
        t_right_from_left_mm=np.tile([-300.0, 0, 0], (n, 1)), subject=np.array(["S9", "S9", "S11", "S11"]),
    )  # fmt: skip
    np.savez(d / "bench.npz", **bench)
    shutil.copy(d / "bench.npz", d / "victim.npz")  # the inputs that '= input' cases would overwrite
    shutil.copy(d / "kp.npz", d / "victim_kp.npz")
    np.savez(d / "corpus.npz", kp3d_world_mm=X.repeat(10, 0), subject=np.array(["S1", "S8"] * 20))
    for key in ("kp3d_gt", "kp2d_gt"):
        a = bench[key].copy()
        a.reshape(n, -1)[1, 0] = np.nan
        np.savez(d / f"nan_{key}.npz", **{**bench, key: a})
    for name, member, shape in (
        ("forged", "kp2d_pred", (200_000_000_000, 2, 17, 1)),
        ("forgedkp", "kp2d", (10**11, 2, 17, 2)),
    ):
        with zipfile.ZipFile(d / f"{name}.npz", "w") as z, z.open(f"{member}.npy", "w") as m:
            np.lib.format.write_array_header_1_0(m, {"descr": "<f4", "fortran_order": False, "shape": shape})
            m.write(b"\0" * 64)
    np.savez(d / "kp1d.npz", kp2d=np.arange(10.0))
    (d / "kp_nested.json").write_text('{"kp2d": [[1, 2], [3, [4]]]}')
    (d / "garbage.npz").write_bytes(bytes(range(256)) * 3)
    (d / "rig_binary.toml").write_bytes(bytes(range(256)) * 4)
    (d / "rig_nomatrix.toml").write_text("[a]\nname = 'a'\n[b]\nname = 'b'\n")
    shutil.copy(d / "rig.toml", d / "rig_unreadable.toml")
    (d / "rig_unreadable.toml").chmod(0)
    (d / "a_file").write_text("x")
    os.mkfifo(d / "fifo.json")
    (d / "a_folder.json").mkdir()
    ro = d / "ro_folder"
    ro.mkdir()
    for p in d.rglob("*"):
        if p.name != "rig_unreadable.toml":
            p.chmod(0o755 if p.is_dir() else 0o644)
    ro.chmod(0o555)
    (d / "mpl").mkdir()
    (d / "mpl").chmod(0o777)  # matplotlib's cache, for the runs as another user too
    d.chmod(0o755)
    demo = Path(str(resources.files("binopose") / "assets" / "demo"))
    return {k: str(v) for k, v in {"d": d, "ro": ro, "demo": demo}.items()}


def mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir()
    if not ROOT:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


def fill(where: Path) -> None:
    """Fill a file system completely (a 64 KiB tmpfs: a few writes)."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


def output_cases(kind: str, file_out: str, folder_out: str, exp: int, files: bool = True) -> list[tuple]:
    """(name, argv, expected exit code, write fails) for every command writing to a file ``file_out``
    (eval, refine, calibrate) or into a folder ``folder_out`` (run, demo, train)."""
    demo = ["--left", "{demo}/left.mp4", "--right", "{demo}/right.mp4", "--rig", "{demo}/rig.toml"]
    fast = ["--max-frames", "2", "--no-refine", "--quiet"]
    out = [
        (f"eval --json {kind}", ["eval", "{d}/bench.npz", "--json", file_out]),
        (f"refine --out {kind}", ["refine", "{d}/kp.npz", "--rig", "{d}/rig.toml", "--method", "triangulate", "--out", file_out]),
        (f"calibrate --out {kind}", ["calibrate", "--left", "{d}", "--right", "{d}", "--out", file_out[:-5] + ".toml"]),
        (f"run --out {kind}", ["run", *demo, *fast, "--no-viz", "--out", folder_out]),
        (f"demo --out {kind}", ["demo", *fast, "--out", folder_out]),
        (f"train out= {kind}", ["train", f"out={folder_out}", "--no-progress"]),
    ]  # fmt: skip
    return [(n, a, exp, True) for n, a in out if files or n.split()[0] in ("run", "demo", "train")]


def cases(ok: dict[str, bool]) -> list[tuple]:
    """(name, argv, expected exit code, write fails, runner) for the whole collection."""
    c = [
        ("eval missing file", ["eval", "{d}/nope.npz"], 2, False),
        ("eval garbage npz", ["eval", "{d}/garbage.npz"], 2, False),
        ("eval header claims 6.8e12 elements", ["eval", "{d}/forged.npz"], 2, False),
        ("eval NaN kp3d_gt", ["eval", "{d}/nan_kp3d_gt.npz"], 2, False),
        ("eval NaN kp2d_gt", ["eval", "{d}/nan_kp2d_gt.npz"], 2, False),
        ("eval --hypotheses 1e12", ["eval", "{d}/bench.npz", "--method", "dualdiff", "--hypotheses", "1000000000000"], 2, False),
        ("eval --steps 1e13", ["eval", "{d}/bench.npz", "--method", "dualdiff", "--steps", "10000000000000"], 2, False),
        ("refine kp header claims 6.8e12", ["refine", "{d}/forgedkp.npz", "--rig", "{d}/rig.toml", "--out", "{d}/o.json"], 2, False),
        ("refine kp 1-D array", ["refine", "{d}/kp1d.npz", "--rig", "{d}/rig.toml", "--out", "{d}/o.json"], 2, False),
        ("refine kp wrong nesting", ["refine", "{d}/kp_nested.json", "--rig", "{d}/rig.toml", "--out", "{d}/o.json"], 2, False),
        ("refine rig binary garbage", ["refine", "{d}/kp.npz", "--rig", "{d}/rig_binary.toml", "--out", "{d}/o.json"], 2, False),
        ("refine rig without matrix", ["refine", "{d}/kp.npz", "--rig", "{d}/rig_nomatrix.toml", "--out", "{d}/o.json"], 2, False),
        ("run --max-frames -1", ["run", "--left", "{d}", "--right", "{d}", "--rig", "{d}/rig.toml", "--max-frames", "-1"], 2, False),
        ("demo --max-frames -1", ["demo", "--max-frames", "-1"], 2, False),
        ("eval --json = input", ["eval", "{d}/victim.npz", "--json", "{d}/victim.npz"], 2, True),
        ("refine --out = input", ["refine", "{d}/victim_kp.npz", "--rig", "{d}/rig.toml", "--out", "{d}/victim_kp.npz"], 2, True),
        # never a system path such as /dev/null: run as root, the code before issue 17 replaced it with a file
        ("eval --json a FIFO (not a regular file)", ["eval", "{d}/bench.npz", "--json", "{d}/fifo.json"], 2, True),
        ("eval --json a folder", ["eval", "{d}/bench.npz", "--json", "{d}/a_folder.json"], 2, True),
        ("refine --out a folder", ["refine", "{d}/kp.npz", "--rig", "{d}/rig.toml", "--out", "{d}/a_folder.json"], 2, True),
    ]  # fmt: skip
    c = [(*x, None) for x in c]
    c += [
        (f"train {s}", ["train", "out={d}/t", *TRAIN_BASE, s, "--no-progress"], 2, False, None)
        for s in BAD_SETTINGS
    ]
    c += [
        (*x, None) for x in output_cases("under a regular file", "{d}/a_file/sub/m.json", "{d}/a_file/sub", 2)
    ]
    c += [(*x, None) for x in output_cases("a regular file", "", "{d}/a_file", 2, files=False)]
    user = NOBODY if ROOT else None
    c.append(("refine unreadable rig", ["refine", "{d}/kp.npz", "--rig", "{d}/rig_unreadable.toml", "--out", "{d}/mpl/u.json"], 2, False, user))  # fmt: skip
    c += [(*x, user) for x in output_cases("in a read-only folder", "{ro}/m.json", "{ro}/out", 1)]
    if ok["rofs"]:
        c += [
            (*x, None)
            for x in output_cases("on a read-only file system", "{d}/rofs/m.json", "{d}/rofs/out", 1)
        ]
    if ok["full"]:  # calibrate fails on its (empty) input before writing: not a write case there
        full = output_cases("on a full disk", "{d}/full/m.json", "{d}/full/out", 1)
        c += [(*x, None) for x in full if not x[0].startswith("calibrate")]
    return c


def run_case(argv: list[str], user: list[str] | None, paths: dict[str, str]) -> dict:
    argv = [a.format(**paths) for a in argv]
    cmd = [*(user or []), sys.executable, "-m", "binopose", *argv]
    env = {**os.environ, "HOME": paths["d"], "MPLCONFIGDIR": paths["d"] + "/mpl"}
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=paths["d"], env=env)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    own = [x for x in lines if x.startswith("binopose")]  # MediaPipe's native logs go to stderr too
    return {"rc": r.returncode, "traceback": "Traceback" in r.stderr, "stderr_lines": len(own),
            "other_stderr_lines": len(lines) - len(own), "message": (own or lines or [""])[-1][:150],
            "seconds": round(time.perf_counter() - t, 2)}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--skip-slow", action="store_true", help="skip the cases that run detection (run, demo)")
    ap.add_argument("--code", metavar="SRC", help="run the command from this source folder (another version)")
    args = ap.parse_args()
    if args.code:
        os.environ["PYTHONPATH"] = str(Path(args.code).resolve())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the mounts below are undone
    tmp = Path(tempfile.mkdtemp(prefix="binopose_bad_inputs_"))
    paths = make_inputs(tmp)
    ok = {"rofs": mount_tmpfs(tmp / "rofs", "ro,size=64k"), "full": mount_tmpfs(tmp / "full", "size=64k")}
    rows = []
    victims = {p: p.read_bytes() for p in (tmp / "victim.npz", tmp / "victim_kp.npz")}
    try:
        if ok["full"]:
            fill(tmp / "full")
        for name, argv, expected, writes, user in cases(ok):
            if args.skip_slow and name.split()[0] in ("run", "demo") and expected == 1:
                continue
            r = run_case(argv, user, paths)
            r.update(case=name, expected=expected, write_fails=writes, as_user="uid 65534" if user else "")
            r["wrote_output"] = (tmp / "t").exists()  # a refused training setting must write nothing
            r["input_destroyed"] = any(p.read_bytes() != b for p, b in victims.items())
            for p, b in victims.items():
                p.write_bytes(b)
            shutil.rmtree(tmp / "t", ignore_errors=True)
            r["ok"] = (
                r["rc"] == expected
                and not r["traceback"]
                and r["stderr_lines"] == 1
                and not r["input_destroyed"]
                and not r["wrote_output"]
            )
            rows.append(r)
            print(
                f"{'ok ' if r['ok'] else 'BAD'} {r['rc']:>3} (want {expected}) {name}: {r['message']}",
                flush=True,
            )
    finally:
        for m in ("rofs", "full"):
            if ok[m]:
                subprocess.run(["umount", str(tmp / m)], check=False)
        (tmp / "ro_folder").chmod(0o755)
        shutil.rmtree(tmp, ignore_errors=True)
    return report(rows, ok, args.json)


def report(rows: list[dict], ok: dict[str, bool], json_path: str | None) -> int:
    counts = {
        "cases": len(rows),
        "tracebacks": sum(r["traceback"] for r in rows),
        "exit_0_with_failed_write": sum(r["rc"] == 0 and r["write_fails"] for r in rows),
        "exit_0_at_all": sum(r["rc"] == 0 for r in rows),
        "not_one_line": sum(r["stderr_lines"] != 1 for r in rows),  # binopose's own lines
        "with_other_stderr_lines": sum(r["other_stderr_lines"] > 0 for r in rows),  # MediaPipe's logs
        "unexpected_exit_code": sum(r["rc"] != r["expected"] for r in rows),
        "refused_setting_wrote_output": sum(r["wrote_output"] for r in rows),
        "input_overwritten": sum(r["input_destroyed"] for r in rows),
        "not_ok": sum(not r["ok"] for r in rows),
    }
    print(f"\n{'what':<28}{'count':>7}")
    for k, v in counts.items():
        print(f"{k:<28}{v:>7}")
    skipped = [k for k, v in ok.items() if not v]
    doc = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "root": ROOT},
        "real_file_systems": {"read_only_tmpfs": ok["rofs"], "full_tmpfs": ok["full"], "skipped": skipped},
        "counts": counts,
        "cases": rows,
    }
    print(json_text({k: v for k, v in doc.items() if k != "cases"}))
    if json_path:
        Path(json_path).write_text(json_text(doc) + "\n")
    return 0 if counts["tracebacks"] == counts["exit_0_with_failed_write"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
