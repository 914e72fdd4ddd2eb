"""Fuzz binopose's file readers with malformed inputs; a crash is any exception but BinoposeError.

    OMP_NUM_THREADS=1 python tests/fuzz_readers.py --cases 12000 --seed 0 [--json OUT.json]

Each case starts from a valid file of one format (benchmark npz, rig TOML, 2D keypoint npz/json,
pose npz/json/csv, model and checkpoint safetensors, pose corpus npz, training config YAML) and
breaks it: truncation, bit flips, random bytes, valid zip with junk members, pickled object arrays,
dropped/renamed keys, wrong shapes and dtypes, NaN/inf, huge values, TOML/JSON/YAML of the wrong
structure or types, corrupted safetensors headers and metadata, a pickle saved under the model's
name. Every reader must either return or raise BinoposeError (one line on the CLI, exit 2).
Prints a table per reader and a JSON summary (command, machine, counts, first crashes).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import platform
import random
import re
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from binopose.checkpoint import load_checkpoint, save_checkpoint
from binopose.config import load_config
from binopose.data.benchmark import load_benchmark
from binopose.data.corpora import load_corpus
from binopose.errors import BinoposeError
from binopose.geometry.rig import Camera, load_rig, rig_to_toml
from binopose.io import Keypoints2D, Poses3D, load_keypoints_2d, load_poses, save_keypoints_2d, save_poses
from binopose.refiner import Refiner

J = 17


# --- valid seed files ------------------------------------------------------------------------------------
def benchmark_arrays(rng: np.random.Generator, n: int = 4) -> dict[str, np.ndarray]:
    K = np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]])
    X = rng.normal(0, 300, (n, J, 3)) + [0, 0, 4000]
    return {
        "kp2d_pred": rng.uniform(0, 640, (n, 2, J, 2)).astype(np.float32),
        "kp2d_gt": rng.uniform(0, 640, (n, 2, J, 2)).astype(np.float32),
        "kp3d_gt": X,
        "K": np.broadcast_to(K, (n, 2, 3, 3)).copy(),
        "R_right_from_left": np.broadcast_to(np.eye(3), (n, 3, 3)).copy(),
        "t_right_from_left_mm": np.tile([-300.0, 0, 0], (n, 1)),
        "baseline_mm": np.full(n, 300.0),
        "subject": np.array(["S9", "S9", "S11", "S11"][:n]),
        "action": np.array(["walk"] * n),
        "pred2d_err_mean_px": np.zeros((2, J, 2)),
        "pred2d_err_scale_px": np.ones((2, J, 2)),
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def rig_dict() -> dict:
    cams = [
        Camera("cam_left", (640, 480), np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]])),
        Camera(
            "cam_right", (640, 480), np.array([[1000.0, 0, 320], [0, 1000, 240], [0, 0, 1]]), t=[-300, 0, 0]
        ),
    ]
    import tomllib

    return tomllib.loads(rig_to_toml(cams))


def toml_text(d: dict) -> str:
    """A tiny TOML writer for fuzzed structures (tables of scalars and nested lists)."""

    def val(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(float(v)) if isinstance(v, float) else str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {val(x)}" for k, x in v.items()) + "}"
        return json.dumps(str(v))

    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"[{json.dumps(k)}]")
            out += [f"{json.dumps(kk)} = {val(vv)}" for kk, vv in v.items()]
        else:
            out.insert(0, f"{json.dumps(k)} = {val(v)}")
    return "\n".join(out) + "\n"


def tiny_model(folder: Path) -> None:
    from binopose.bundle import write_bundle
    from binopose.data.presets import NoiseConfig, build_error_models
    from binopose.diffusion.conditioning import Conditioning
    from binopose.diffusion.schedule import Schedule
    from binopose.model import Denoiser, DenoiserConfig

    cfg = DenoiserConfig(dim=16, depth=1, heads=2, cond_dim=16)
    torch.manual_seed(0)
    net = Denoiser(cfg)
    models, weights = build_error_models(NoiseConfig())
    write_bundle(folder, net.state_dict(), cfg, Schedule(), Conditioning(), models, weights, train={})


def build_seeds(tmp: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    seeds = {"benchmark.npz": npz_bytes(benchmark_arrays(rng))}
    seeds["rig.toml"] = toml_text(rig_dict()).encode()
    kp = Keypoints2D(
        rng.uniform(0, 640, (3, 2, J, 2)), rng.uniform(0, 1, (3, 2, J)), np.zeros((3, 2), int), {"a": 1}
    )
    for ext in ("npz", "json"):
        save_keypoints_2d(tmp / f"kp.{ext}", kp)
        seeds[f"kp.{ext}"] = (tmp / f"kp.{ext}").read_bytes()
    poses = Poses3D(rng.normal(0, 300, (3, J, 3)), rng.uniform(1, 9, (3, J)), np.arange(3), 30.0, {"m": "x"})
    for ext in ("npz", "json", "csv"):
        save_poses(tmp / f"poses.{ext}", poses)
        seeds[f"poses.{ext}"] = (tmp / f"poses.{ext}").read_bytes()
    tiny_model(tmp / "model")
    seeds["model.safetensors"] = (tmp / "model" / "model.safetensors").read_bytes()
    save_checkpoint(
        tmp / "ckpt.safetensors", {"w": torch.ones(3), "rng": torch.zeros(4, dtype=torch.uint8)}, {"step": 3}
    )
    seeds["checkpoint.safetensors"] = (tmp / "ckpt.safetensors").read_bytes()
    corpus = {
        "kp3d_world_mm": rng.normal(0, 300, (6, J, 3)).astype(np.float32),
        "subject": np.array(["S1"] * 6),
    }
    seeds["corpus.npz"] = npz_bytes(corpus)
    seeds["config.yaml"] = (
        b"out: runs/x\nseed: 1\nsteps: 10\ncorpora:\n  - path: a.npz\n    stride: 2\nmodel:\n  dim: 16\n"
    )
    return seeds


# --- readers under test -------------------------------------------------------------------------------------
def _train_config(p: Path) -> object:
    from binopose.training.train import TrainConfig

    return load_config(TrainConfig, p)


READERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "benchmark.npz": ("load_benchmark", load_benchmark),
    "rig.toml": ("load_rig", load_rig),
    "kp.npz": ("load_keypoints_2d", load_keypoints_2d),
    "kp.json": ("load_keypoints_2d", load_keypoints_2d),
    "poses.npz": ("load_poses", load_poses),
    "poses.json": ("load_poses", load_poses),
    "poses.csv": ("load_poses", load_poses),
    "model.safetensors": ("Refiner.load", Refiner.load),
    "checkpoint.safetensors": ("load_checkpoint", load_checkpoint),
    "corpus.npz": ("load_corpus", load_corpus),
    "config.yaml": ("load_config(TrainConfig)", _train_config),
}


def suspect(obj: object) -> str:
    """Why an accepted result looks like garbage ('' when it does not): a silent wrong number."""
    from binopose.geometry.rig import StereoRig
    from binopose.io import Keypoints2D, Poses3D

    if isinstance(obj, Poses3D):
        if obj.fps is not None and not (isinstance(obj.fps, float) and np.isfinite(obj.fps) and obj.fps > 0):
            return f"fps {obj.fps!r}"
        if not isinstance(obj.meta, dict):
            return "meta is not a dict"
    if isinstance(obj, Keypoints2D) and not isinstance(obj.meta, dict):
        return "meta is not a dict"
    if isinstance(obj, StereoRig) and not (np.isfinite(obj.left.P).all() and np.isfinite(obj.right.P).all()):
        return "non-finite camera"
    return ""


# --- mutations ------------------------------------------------------------------------------------------
WEIRD_VALUES = [np.nan, np.inf, -np.inf, 1e308, -1e308, 0.0, -0.0, 1e-320, 2**63, -1]


def bytes_truncate(b: bytes, r: random.Random) -> bytes:
    return b[: r.randrange(len(b) + 1)]


def bytes_flip(b: bytes, r: random.Random) -> bytes:
    a = bytearray(b)
    for _ in range(r.randint(1, 8)):
        if a:
            a[r.randrange(len(a))] ^= 1 << r.randrange(8)
    return bytes(a)


def bytes_random(b: bytes, r: random.Random) -> bytes:
    return bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 8, 64, 512, 4096])))


def bytes_splice(b: bytes, r: random.Random) -> bytes:
    i = r.randrange(len(b) + 1)
    junk = bytes(r.getrandbits(8) for _ in range(r.randint(1, 64)))
    return b[:i] + junk + b[i + r.randint(0, 64) :]


def zip_junk(b: bytes, r: random.Random) -> bytes:
    """A valid zip whose members are junk, truncated .npy files, object arrays or pickles."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        names = [
            "kp2d_pred",
            "K",
            "R_right_from_left",
            "t_right_from_left_mm",
            "kp2d",
            "conf",
            "poses_mm",
            "uncertainty_mm",
            "frame_index",
            "fps",
            "joint_names",
            "meta_json",
            "kp3d_world_mm",
            "subject",
        ]
        for name in r.sample(names, r.randint(1, len(names))):
            kind = r.randrange(4)
            if kind == 0:
                data = bytes(r.getrandbits(8) for _ in range(r.randint(0, 200)))
            elif kind == 1:
                f = io.BytesIO()
                np.save(f, np.zeros((r.randint(1, 5), 2, J, 2)))
                data = f.getvalue()[: r.randint(0, 300)]
            elif kind == 2:
                f = io.BytesIO()
                np.save(f, np.array([{"x": 1}, None], dtype=object), allow_pickle=True)
                data = f.getvalue()
            else:
                data = pickle.dumps({"x": np.zeros(3)})
            z.writestr(name + (".npy" if r.random() < 0.9 else r.choice(["", ".txt", ".npz"])), data)
    return buf.getvalue()


def _weird_array(a: np.ndarray, r: random.Random) -> np.ndarray:
    k = r.randrange(10)
    if k == 0:  # wrong shape
        shape = tuple(r.randint(0, 4) for _ in range(r.randint(0, 5)))
        return np.zeros(shape)
    if k == 1:  # drop or add an axis
        return a[..., 0] if a.ndim and a.shape[-1] else a[..., None]
    if k == 2:  # strings
        return np.full(a.shape, "x")
    if k == 3:
        return a.astype(np.complex128) if a.dtype.kind in "fiu" else a
    if k == 4:
        return a.astype(bool) if a.dtype.kind in "fiu" else a
    if k == 5:  # empty
        return a[:0] if a.ndim else np.zeros(0)
    if k == 6:  # scalar
        return np.array(r.choice(WEIRD_VALUES))
    if k == 7:  # non-finite / huge entries
        if a.dtype.kind != "f":
            return a
        b = a.copy().astype(np.float64)
        flat = b.reshape(-1)
        for _ in range(r.randint(1, 4)):
            if flat.size:
                flat[r.randrange(flat.size)] = r.choice(WEIRD_VALUES)
        return b
    if k == 8:  # all one weird value
        return np.full(a.shape, r.choice(WEIRD_VALUES))
    if a.dtype.kind == "f":
        return a.astype(np.float16)
    return a.astype(np.int8) if a.dtype.kind in "iub" else np.array(1.5)


def npz_structured(b: bytes, r: random.Random) -> bytes:
    with np.load(io.BytesIO(b), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for _ in range(r.randint(1, 3)):
        key = r.choice(list(arrays))
        op = r.randrange(4)
        if op == 0:
            del arrays[key]
            if not arrays:
                arrays["x"] = np.zeros(1)
        elif op == 1:
            arrays[key + "_"] = arrays.pop(key)
        else:
            arrays[key] = _weird_array(arrays[key], r)
    return npz_bytes(arrays)


def _weird_value(r: random.Random, depth: int = 0) -> object:
    k = r.randrange(9 if depth < 3 else 6)
    if k == 0:
        return r.choice([0, -1, 1, 2**70])
    if k == 1:
        return r.choice([0.0, 1e308, -1e308, 1e-320, float("nan"), float("inf")])
    if k == 2:
        return r.choice(["", "x", "nan", "1e999", "[1,2]"])
    if k == 3:
        return r.choice([True, False])
    if k == 4:
        return None
    if k == 5:
        return []
    if k == 6:
        return [_weird_value(r, depth + 1) for _ in range(r.randint(0, 4))]
    if k == 7:
        return {str(i): _weird_value(r, depth + 1) for i in range(r.randint(0, 3))}
    return [[_weird_value(r, depth + 1)] * 3] * r.randint(0, 4)


def _mutate_tree(d: object, r: random.Random) -> object:
    """Replace, drop or rename a random node of a JSON-like tree."""
    if isinstance(d, dict) and d:
        key = r.choice(list(d))
        op = r.randrange(4)
        d = dict(d)
        if op == 0:
            del d[key]
        elif op == 1:
            d[key + "_x"] = d.pop(key)
        elif op == 2:
            d[key] = _weird_value(r)
        else:
            d[key] = _mutate_tree(d[key], r)
        return d
    if isinstance(d, list) and d:
        d = list(d)
        i = r.randrange(len(d))
        op = r.randrange(4)
        if op == 0:
            del d[i]
        elif op == 1:
            d.append(_weird_value(r))
        elif op == 2:
            d[i] = _weird_value(r)
        else:
            d[i] = _mutate_tree(d[i], r)
        return d
    return _weird_value(r)


def json_structured(b: bytes, r: random.Random) -> bytes:
    doc = json.loads(b)
    for _ in range(r.randint(1, 3)):
        doc = _mutate_tree(doc, r)
    if r.random() < 0.05:
        doc = "[" * 5000 + "]" * 5000
        return doc.encode()
    return json.dumps(doc).encode()


def toml_structured(b: bytes, r: random.Random) -> bytes:
    import tomllib

    d = tomllib.loads(b.decode())
    for _ in range(r.randint(1, 3)):
        d = _mutate_tree(d, r)
    if not isinstance(d, dict):
        d = {"x": d}
    d = {k: v for k, v in d.items() if v is not None}
    return toml_text(d).encode()


def yaml_structured(b: bytes, r: random.Random) -> bytes:
    import yaml

    d = yaml.safe_load(b)
    for _ in range(r.randint(1, 3)):
        d = _mutate_tree(d, r)
    if r.random() < 0.1:
        return r.choice(
            [b"!!python/object/apply:os.system ['true']\n", b"a: &x [*x]\n", b"- - - -\n", b"{\n"]
        )
    return yaml.safe_dump(d).encode()


def csv_structured(b: bytes, r: random.Random) -> bytes:
    rows = [line.split(",") for line in b.decode().splitlines()]
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(rows))
        op = r.randrange(5)
        if op == 0 and len(rows) > 1:
            del rows[i]
        elif op == 1:
            rows[i] = rows[i][: r.randrange(len(rows[i]) + 1)]
        elif op == 2 and rows[i]:
            rows[i][r.randrange(len(rows[i]))] = r.choice(["x", "nan", "inf", "1e999", "", "-", "0x1"])
        elif op == 3:
            rows[i] = rows[i] + ["1"]
        else:
            rows = rows[:1]
    return "\n".join(",".join(x) for x in rows).encode()


def _safetensors_parts(b: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8 : 8 + n]), b[8 + n :]


def _safetensors_join(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_structured(b: bytes, r: random.Random) -> bytes:
    header, data = _safetensors_parts(b)
    op = r.randrange(7)
    if op == 0:  # header length lies
        return struct.pack("<Q", r.choice([0, 1, 2**40, 2**64 - 1, len(b)])) + b[8:]
    if op == 1:  # metadata: wrong format, junk config, wrong config types
        meta = dict(header.get("__metadata__", {}))
        key = r.choice(["format", "config", "error_model", "info"])
        meta[key] = r.choice(
            ["", "{", "null", "[]", '{"model": 1}', "binopose-model-0", json.dumps(_weird_value(r))]
        )
        if r.random() < 0.5 and "config" in meta and meta["config"].startswith('{"model'):
            cfg = json.loads(meta["config"])
            meta["config"] = json.dumps(_mutate_tree(cfg, r))
        header["__metadata__"] = meta
        return _safetensors_join(header, data)
    if (
        op == 2 and "__metadata__" in header and "config" in header["__metadata__"]
    ):  # config from another version
        meta = dict(header["__metadata__"])
        cfg = json.loads(meta["config"])
        for _ in range(r.randint(1, 3)):
            cfg = _mutate_tree(cfg, r)
        meta["config"] = json.dumps(cfg)
        if r.random() < 0.5:
            em = json.loads(meta.get("error_model", "{}"))
            meta["error_model"] = json.dumps(_mutate_tree(em, r))
        header["__metadata__"] = meta
        return _safetensors_join(header, data)
    names = [k for k in header if k != "__metadata__"]
    if not names:
        return bytes_flip(b, r)
    name = r.choice(names)
    t = dict(header[name])
    if op == 3:
        t["dtype"] = r.choice(["F16", "I64", "BOOL", "U8", "X9", "F64"])
    elif op == 4:
        t["shape"] = r.choice([[], [0], [2**40], [3, 3, 3, 3], [-1]])
    elif op == 5:
        t["data_offsets"] = r.choice([[0, 2**40], [8, 4], [0, 0], [-1, 3]])
    else:  # rename or drop a tensor (a model from another architecture)
        del header[name]
        if r.random() < 0.5:
            header[name + ".x"] = t
        return _safetensors_join(header, data)
    header[name] = t
    return _safetensors_join(header, data)


def pickle_payload(b: bytes, r: random.Random) -> bytes:
    """A torch.save pickle (or raw pickle) where a safetensors/npz file should be."""
    buf = io.BytesIO()
    if r.random() < 0.5:
        torch.save({"w": torch.zeros(3)}, buf)
        return buf.getvalue()
    return pickle.dumps(Marker())


class Marker:
    """Unpickling this would print to stderr: the fuzz would show it (it must never run)."""

    def __reduce__(self):  # noqa: D105
        return (print, ("PICKLE PAYLOAD RAN",))


GENERIC = [bytes_truncate, bytes_flip, bytes_random, bytes_splice, pickle_payload]
STRUCTURED = {
    ".npz": [npz_structured, npz_structured, npz_structured, zip_junk],
    ".json": [json_structured, json_structured, json_structured],
    ".toml": [toml_structured, toml_structured, toml_structured],
    ".yaml": [yaml_structured, yaml_structured],
    ".csv": [csv_structured, csv_structured, csv_structured],
    ".safetensors": [safetensors_structured, safetensors_structured, safetensors_structured],
}


def run(cases: int, seed: int, verbose: bool) -> dict:
    r = random.Random(seed)
    np.random.seed(seed)
    counts: dict[str, Counter] = defaultdict(Counter)
    crashes: list[dict] = []
    suspects: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="binopose_fuzz_") as td:
        tmp = Path(td)
        seeds = build_seeds(tmp)
        # each seed must load cleanly, or the fuzz tests nothing
        for name, data in seeds.items():
            (tmp / name).write_bytes(data)
            READERS[name][1](tmp / name)
        names = sorted(seeds)
        t0 = time.perf_counter()
        for i in range(cases):
            name = names[i % len(names)]
            suffix = Path(name).suffix
            mutators = GENERIC + STRUCTURED[suffix]
            mut = r.choice(mutators)
            data = mut(seeds[name], r)
            if r.random() < 0.15:  # stack a byte-level mutation on a structured one
                data = r.choice([bytes_truncate, bytes_flip, bytes_splice])(data, r)
            path = tmp / "case" / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            reader_name, reader = READERS[name]
            key = f"{name} ({reader_name})"
            counts[key]["cases"] += 1
            try:
                why = suspect(reader(path))
                counts[key]["accepted"] += 1
                if why:
                    counts[key]["suspect"] += 1
                    suspects.append({"case": i, "file": name, "mutation": mut.__name__, "why": why})
            except BinoposeError:
                counts[key]["refused"] += 1
            except Exception as e:  # noqa: BLE001 - counting what escapes is the point
                counts[key]["crashes"] += 1
                sig = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
                crashes.append({"case": i, "file": name, "mutation": mut.__name__, "error": sig})
                if verbose:
                    traceback.print_exc()
        seconds = time.perf_counter() - t0
    total = Counter()
    for c in counts.values():
        total.update(c)
    return {
        "command": "python " + " ".join(sys.argv),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "numpy": np.__version__,
            "torch": torch.__version__,
        },
        "seed": seed,
        "seconds": round(seconds, 1),
        "total": {k: total[k] for k in ("cases", "accepted", "refused", "crashes", "suspect")},
        "per_reader": {
            k: {x: v[x] for x in ("cases", "accepted", "refused", "crashes", "suspect")}
            for k, v in counts.items()
        },
        "crash_kinds": Counter(f"{c['file']}: {_kind(c['error'])}" for c in crashes).most_common(40),
        "first_crashes": crashes[:20],
        "first_suspects": suspects[:20],
    }


def _kind(error: str) -> str:
    """A crash signature without the numbers and names that vary between cases."""
    return re.sub(r"\d+|'[^']*'", "#", error)[:90]


def print_table(res: dict) -> None:
    head = f"{'file (reader)':<46}{'cases':>8}{'accepted':>10}{'refused':>10}{'crashes':>9}{'suspect':>9}"
    print(head)
    print("-" * len(head))
    for k, v in sorted(res["per_reader"].items()):
        print(
            f"{k:<46}{v['cases']:>8}{v['accepted']:>10}{v['refused']:>10}{v['crashes']:>9}{v['suspect']:>9}"
        )
    t = res["total"]
    print("-" * len(head))
    print(
        f"{'total':<46}{t['cases']:>8}{t['accepted']:>10}{t['refused']:>10}{t['crashes']:>9}{t['suspect']:>9}"
    )
    print(f"{res['seconds']} s")
    for kind, n in res["crash_kinds"]:
        print(f"  crash x{n}: {kind}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="OUT.json", help="also write the summary here")
    ap.add_argument("--verbose", action="store_true", help="print each crash's traceback")
    ap.add_argument(
        "--max-memory-gb",
        type=float,
        default=4.0,
        help="address-space limit (a reader that tries to "
        "allocate more raises MemoryError, counted as a crash; protects a shared machine)",
    )
    args = ap.parse_args()
    import resource

    lim = int(args.max_memory_gb * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    torch.set_num_threads(1)
    res = run(args.cases, args.seed, args.verbose)
    print_table(res)
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 1 if res["total"]["crashes"] or res["total"]["suspect"] else 0


if __name__ == "__main__":
    sys.exit(main())
