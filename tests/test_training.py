"""Training: the denoiser overfits a fixed batch, checkpoints round-trip, an interrupted run resumes
to exactly the weights of an uninterrupted one, and ``train`` runs end to end on a tiny corpus."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from helpers import random_poses, stereo_views, tiny_model_config, write_corpus

import binopose.training.train as train_module
from binopose.checkpoint import load_checkpoint, load_model, save_model
from binopose.config import from_dict
from binopose.data.presets import NoiseConfig, build_error_models
from binopose.data.rigs import RigConfig
from binopose.data.synth import AugmentConfig, make_batch
from binopose.diffusion.conditioning import Conditioning
from binopose.diffusion.loss import LossConfig, denoising_loss
from binopose.diffusion.schedule import Schedule
from binopose.errors import BinoposeError
from binopose.model import Denoiser
from binopose.refiner import Refiner
from binopose.training.train import TrainConfig, train
from binopose.training.validate import START_LEVELS


def test_denoiser_overfits_a_fixed_batch():
    torch.manual_seed(0)
    net = Denoiser(tiny_model_config(dim=32, depth=2, cond_dim=32))
    models, weights = build_error_models(NoiseConfig())
    gen = torch.Generator().manual_seed(0)
    batch = make_batch(torch.from_numpy(random_poses(32)), RigConfig(), AugmentConfig(), gen)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    schedule, cfg = Schedule(), LossConfig(w_unc=0.0)
    first = last = None
    for _ in range(250):
        gen.manual_seed(1)  # the same steps and noise every time: one fixed batch
        loss, stats = denoising_loss(net, batch, schedule, models, weights, cfg, gen, cond=Conditioning())
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first or stats["loss_3d_mm"]
        last = stats["loss_3d_mm"]
    assert last < first / 5, (first, last)


def _model_files(tmp_path, seed: int = 0):
    torch.manual_seed(seed)
    cfg = tiny_model_config()
    net = Denoiser(cfg)
    with torch.no_grad():  # the output layer starts at zero: make it do something
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    models, weights = build_error_models(NoiseConfig())
    config = {
        "model": dataclasses.asdict(cfg),
        "schedule": dataclasses.asdict(Schedule()),
        "conditioning": dataclasses.asdict(Conditioning()),
    }
    err = {"models": [dataclasses.asdict(m) for m in models], "weights": weights}
    path = save_model(tmp_path / "model", net.state_dict(), config, err)
    return net.eval(), path, models


def test_checkpoint_round_trip(tmp_path):
    net, path, models = _model_files(tmp_path)
    state, config, err = load_model(path.parent)
    assert state.keys() == net.state_dict().keys()
    for k, v in net.state_dict().items():
        assert torch.equal(state[k], v), k
    assert from_dict(type(net.cfg), config["model"]) == net.cfg
    assert [m["name"] for m in err["models"]] == [m.name for m in models]
    direct = Refiner(net, Schedule(), {m.name: m for m in models}, Conditioning())
    loaded = Refiner.load(path)
    _, P, u = stereo_views(16)
    u = u + torch.randn(u.shape, generator=torch.Generator().manual_seed(0), dtype=u.dtype) * 2
    a, b = direct.refine(u, P), loaded.refine(u, P)
    assert torch.equal(a.poses, b.poses)
    assert not torch.allclose(direct.network_pass(u, P), a.triangulated)  # the network changed the input


def test_load_model_rejects_other_files(tmp_path):
    with pytest.raises(BinoposeError, match="not found"):
        load_model(tmp_path / "nothing")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(BinoposeError, match="safetensors"):
        load_model(tmp_path / "junk.safetensors")


def _config(tmp_path, out: str, **kw) -> TrainConfig:
    corpus = tmp_path / "corpus.npz"
    if not corpus.exists():
        write_corpus(corpus, 120)
    base = {
        "out": str(tmp_path / out),
        "seed": 3,
        "steps": 8,
        "batch_size": 16,
        "warmup": 3,
        "ckpt_every": 4,
        "val_every": 4,
        "val_size": 16,
        "corpora": [{"path": str(corpus)}],
        "holdout_subjects": ["S8"],
        "noise": {"fit_from": ""},
        "model": dataclasses.asdict(tiny_model_config(dropout=0.1)),
    }
    return from_dict(TrainConfig, {**base, **kw})


class _Interrupt(Exception):
    pass


def test_resume_gives_the_same_weights(tmp_path, monkeypatch):
    """Stop a run after its step-4 checkpoint, restart it: the result equals an uninterrupted run."""
    train(_config(tmp_path, "straight"), progress=False)
    cfg = _config(tmp_path, "resumed")
    real, calls = train_module.denoising_loss, []

    def interrupt_after_4(*args, **kwargs):
        calls.append(1)
        if len(calls) > 4:
            raise _Interrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "denoising_loss", interrupt_after_4)
    with pytest.raises(_Interrupt):
        train(cfg, progress=False)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "resumed" / "checkpoint.safetensors")[1]["step"] == 4
    train(cfg, progress=False)
    a, info_a = load_checkpoint(tmp_path / "straight" / "checkpoint.safetensors")
    b, info_b = load_checkpoint(tmp_path / "resumed" / "checkpoint.safetensors")
    assert info_a["step"] == info_b["step"] == 8
    assert a.keys() == b.keys() and any(k.startswith("optim.") for k in a)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    wa, wb = load_model(tmp_path / "straight" / "model")[0], load_model(tmp_path / "resumed" / "model")[0]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_train_end_to_end(tmp_path):
    folder = train(_config(tmp_path, "run", steps=6, ckpt_every=3, val_every=3), progress=False)
    run = tmp_path / "run"
    assert folder == run / "model"
    for name in ("model.safetensors", "config.json", "error_model.json"):
        assert (folder / name).is_file(), name
    for name in ("config.json", "log.jsonl", "training.png", "checkpoint.safetensors"):
        assert (run / name).is_file(), name
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["steps"] == 6 and resolved["noise"]["fit_from"] == ""
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    vals = [r["val"] for r in log if "val" in r]
    assert [r["step"] for r in log if "val" in r] == [3, 6]
    assert all(v == v for v in vals[-1].values())  # finite numbers, not NaN
    ref = Refiner.load(folder)
    _, P, u = stereo_views(4)
    res = ref.refine(u, P)
    assert res.poses.shape == (4, 17, 3) and torch.isfinite(res.poses).all()
    # no family was fitted on a real detector here: both got a level chosen on the validation poses
    levels = json.loads((run / "levels.json").read_text())
    assert (run / "levels.png").is_file()
    assert set(levels["tables"]) == {"stereo", "per-view"}
    for name, m in ref.error_models.items():
        assert m.default_level == levels[name] and m.default_level in START_LEVELS


def test_train_needs_a_corpus(tmp_path):
    cfg = dataclasses.replace(_config(tmp_path, "empty"), corpora=[])
    with pytest.raises(BinoposeError, match="corpora"):
        train(cfg, progress=False)


def test_bad_device_is_a_clear_error(tmp_path):
    for name, message in (("tpu", "device must be"), ("cuda:x", "device must be")):
        with pytest.raises(BinoposeError, match=message):
            train(dataclasses.replace(_config(tmp_path, name), device=name), progress=False)
        assert not (tmp_path / name).exists()  # nothing written
    if not torch.cuda.is_available():
        with pytest.raises(BinoposeError, match="no CUDA GPU"):
            train(dataclasses.replace(_config(tmp_path, "gpu"), device="cuda"), progress=False)


def test_real_pairs_mix_into_training(tmp_path):
    """A development file's real (detection, ground truth) pairs of the listed subjects join each batch."""
    import numpy as np
    from test_eval_cli import make_benchmark

    from binopose.data.real_pairs import RealPairsConfig, load_real_pairs

    dev = tmp_path / "dev_stereo_test.npz"
    np.savez(dev, **make_benchmark(noise_px=1.0, n_per=20))
    family = build_error_models(NoiseConfig())[0][1]
    assert load_real_pairs(RealPairsConfig(path=str(dev), subjects=["S1"]), family) is None  # fraction 0
    pairs = load_real_pairs(RealPairsConfig(path=str(dev), subjects=["S1"], fraction=0.5), family)
    assert len(pairs) == 60 and pairs.sigma > 0
    assert float(pairs.profile.pow(2).mean()) == pytest.approx(1.0)
    with pytest.raises(BinoposeError, match="usable frames"):
        load_real_pairs(RealPairsConfig(path=str(dev), subjects=["S9"], fraction=0.5), family)
    real = {"path": str(dev), "subjects": ["S1"], "fraction": 0.25}
    train(_config(tmp_path, "mixed", steps=4, real_pairs=real), progress=False)
    log = [json.loads(line) for line in (tmp_path / "mixed" / "log.jsonl").read_text().splitlines()]
    assert any("real_3d_mm" in r for r in log)
    with pytest.raises(BinoposeError, match="real_pairs.family"):
        train(_config(tmp_path, "bad", real_pairs={**real, "family": "nope"}), progress=False)

    # the level the network is told varies around the pairs' own with level_jitter, and only then
    from binopose.diffusion.loss import LossConfig
    from binopose.training.real_pairs import real_pairs_loss

    seen = []

    class Spy(torch.nn.Module):
        def forward(self, X, sigma, baseline, evidence):
            seen.append(sigma.clone())
            return X.float(), torch.zeros(X.shape[:2])

    idx = torch.arange(len(pairs))
    gen = torch.Generator().manual_seed(0)
    real_pairs_loss(Spy(), pairs, idx, LossConfig(), cond=Conditioning())
    real_pairs_loss(Spy(), pairs, idx, LossConfig(), gen, 0.2, cond=Conditioning())
    assert torch.allclose(seen[0], torch.full_like(seen[0], pairs.sigma))
    spread = torch.log(seen[1] / pairs.sigma).std()
    assert 0.1 < float(spread) < 0.3
    with pytest.raises(ValueError, match="generator"):
        real_pairs_loss(Spy(), pairs, idx, LossConfig(), None, 0.2, cond=Conditioning())


#: sha256 over the checkpoint and model tensors of a 20-step tiny run (seed 3, batch 16; "mixed": a quarter
#: of each batch real pairs), recorded with the training loop before it was split into set-up / step /
#: validate / save (torch 2.13.0 on the CPU): one process must train exactly as before
RECORDED_RUNS = {
    "plain": "bf721a8da7334621c12bc8e341764ccc03054ac72e9110c2d1989aff71ae562b",
    "mixed": "eba14343317feaa0341abcfa1b8630ae028b9fc0bc10487dfec69135c6f6acf8",
}


def _weights_hash(run) -> str:
    import hashlib

    ck = load_checkpoint(run / "checkpoint.safetensors")[0]
    w = load_model(run / "model")[0]
    h = hashlib.sha256()
    for tensors in (ck, w):
        for k in sorted(tensors):
            h.update(k.encode())
            h.update(tensors[k].numpy().tobytes())
    return h.hexdigest()


@pytest.mark.skipif(
    not torch.__version__.startswith("2.13.0") or torch.cuda.is_available(),
    reason="the recorded sums are torch 2.13.0's CPU arithmetic",
)
def test_one_process_trains_as_before_the_split(tmp_path):
    import numpy as np
    from test_eval_cli import make_benchmark

    from binopose.training.train import is_main, process_seed

    assert is_main() and process_seed(3) == 3  # no process group: the only process writes, seed unchanged
    np.savez(tmp_path / "dev.npz", **make_benchmark(noise_px=1.0, n_per=20))
    mixed = {"path": str(tmp_path / "dev.npz"), "subjects": ["S1"], "fraction": 0.25}
    model = dataclasses.asdict(tiny_model_config(dropout=0.1))
    cfg = _config(tmp_path, "mixed", steps=20, ckpt_every=10, val_every=10, model=model, real_pairs=mixed)
    train(cfg, progress=False)  # the mixed run also takes every step of the plain one (synthetic batches)
    assert _weights_hash(tmp_path / "mixed") == RECORDED_RUNS["mixed"]


def test_further_detectors_join_training_as_families_of_their_own(tmp_path):
    """``noise.extra_models``: a fitted detector's model is drawn with its share of the samples, bias removed,
    counted as measured (level 1); a bundle with it still refines (inputs go to the two families)."""
    from binopose.bundle import write_bundle
    from binopose.data.noise import ErrorModel2D
    from binopose.data.presets import PER_VIEW, measured_families

    mp = ErrorModel2D("mediapipe", bias=torch.full((2, 17, 2), 0.01).tolist(), swap_prob=0.08)
    path = tmp_path / "mp.json"
    mp.save(path)
    cfg = NoiseConfig(extra_models=[str(path)], extra_weight=0.25, stereo_weight=0.5)
    models, weights = build_error_models(cfg)
    assert [m.name for m in models] == ["stereo", PER_VIEW, "mediapipe"]
    assert weights == pytest.approx([0.375, 0.375, 0.25])
    assert torch.tensor(models[2].bias).abs().max() == 0 and models[2].swap_prob == 0.08
    assert "mediapipe" in measured_families(cfg)
    assert build_error_models(NoiseConfig())[1] == [0.5, 0.5]  # nothing extra: as before
    with pytest.raises(BinoposeError, match="extra_models"):
        build_error_models(NoiseConfig(extra_weight=0.2))
    ErrorModel2D(PER_VIEW).save(tmp_path / "clash.json")
    with pytest.raises(BinoposeError, match="taken"):
        build_error_models(NoiseConfig(extra_models=[str(tmp_path / "clash.json")], extra_weight=0.2))
    cfg_net = tiny_model_config()
    folder = write_bundle(
        tmp_path / "m",
        Denoiser(cfg_net).state_dict(),
        cfg_net,
        Schedule(),
        Conditioning(),
        models,
        weights,
        train={},
    )
    ref = Refiner.load(folder)
    _, P, uv = stereo_views(8)
    res = ref.refine(uv + torch.randn(uv.shape, generator=torch.Generator().manual_seed(0)), P)
    assert torch.isfinite(res.poses).all()
