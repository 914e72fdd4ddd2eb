"""Training settings are checked once, before anything is written: one line naming the key and its
allowed range (exit code 2); a run folder resumes only under the config it was started with."""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import tiny_model_config, write_corpus

from binopose.cli import main
from binopose.config import from_dict
from binopose.config_checks import Limit, check_train_config, config_changes
from binopose.errors import BinoposeError
from binopose.training.train import TrainConfig, train

BAD_SETTINGS = [
    ("val_every=0", "val_every >= 1"),
    ("ckpt_every=0", "ckpt_every >= 1"),
    ("batch_size=0", "batch_size >= 2"),
    ("batch_size=1", "batch_size >= 2"),
    ("lr=.nan", "lr"),
    ("lr=-0.001", "lr > 0"),
    ("model.heads=0", "model.heads >= 1"),
    ("model.heads=5", "not divisible by model.heads"),
    ("model.dim=0", "model.dim >= 1"),
    ("model.depth=-1", "model.depth >= 1"),
    ("ema_decay=5", "0 <= ema_decay < 1"),
    ("ema_decay=1", "0 <= ema_decay < 1"),
    ("steps=-1", "steps >= 1"),
    ("schedule.steps=0", "schedule"),
    ("rig.baseline_m=[.inf, 1]", "rig.baseline_m"),
    ("lr=!!python/object/apply:os.system ['touch PWNED']", "YAML tags"),
    ("lr=!!float 1", "YAML tags"),
    ("lr=[unclosed", "not a valid YAML value"),
]


@pytest.mark.parametrize(("override", "says"), BAD_SETTINGS, ids=[o for o, _ in BAD_SETTINGS])
def test_bad_setting_is_one_line_and_writes_nothing(override, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    try:
        rc = main(["train", f"out={out}", override, "--no-progress"])
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert says in err
    assert not out.exists() and not (tmp_path / "PWNED").exists()


def test_limit_text_and_bounds():
    assert Limit(0, 1, hi_open=True).text("p") == "0 <= p < 1"
    assert Limit(0, lo_open=True).text("lr") == "lr > 0"
    assert Limit(0, 1, hi_open=True).holds(0.0) and not Limit(0, 1, hi_open=True).holds(1.0)


def test_the_shipped_configs_pass():
    from pathlib import Path

    from binopose.config import load_config

    configs = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))
    assert configs
    for c in configs:
        check_train_config(load_config(TrainConfig, c))


def test_config_changes_lists_each_key():
    old = {"steps": 10, "model": {"dim": 32, "heads": 4}, "threads": 1}
    new = {"steps": 20, "model": {"dim": 64, "heads": 4}, "threads": 8, "extra": True}
    assert config_changes(old, new) == ['extra: "absent" -> true', "model.dim: 32 -> 64", "steps: 10 -> 20"]


def _config(tmp_path, **kw) -> TrainConfig:
    corpus = tmp_path / "corpus.npz"
    if not corpus.exists():
        write_corpus(corpus, 120)
    base = {
        "out": str(tmp_path / "run"),
        "steps": 2,
        "batch_size": 8,
        "warmup": 1,
        "ckpt_every": 2,
        "val_every": 2,
        "val_size": 8,
        "corpora": [{"path": str(corpus)}],
        "noise": {"fit_from": ""},
        "model": dataclasses.asdict(tiny_model_config()),
    }
    return from_dict(TrainConfig, {**base, **kw})


def test_resume_under_a_changed_config_is_refused(tmp_path):
    cfg = _config(tmp_path)
    train(cfg, progress=False)
    saved = (tmp_path / "run" / "config.json").read_text()
    bigger = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, dim=cfg.model.dim * 2), steps=4)
    with pytest.raises(BinoposeError) as e:
        train(bigger, progress=False)
    msg = str(e.value)
    assert f"model.dim: {cfg.model.dim} -> {2 * cfg.model.dim}" in msg and "steps: 2 -> 4" in msg
    assert "new out= folder" in msg and "\n" not in msg
    assert (tmp_path / "run" / "config.json").read_text() == saved  # not overwritten before the check
    train(dataclasses.replace(cfg, threads=1), progress=False)  # threads do not change what is trained


def test_resume_with_a_changed_model_size_on_the_command_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    train(cfg, progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    cfg_file = tmp_path / "c.json"
    cfg_file.write_text(json.dumps({**saved, "model": {**saved["model"], "depth": 3}}))
    rc = main(["train", "--config", str(cfg_file), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "model.depth: 1 -> 3" in err
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == saved


def test_checkpoint_without_config_is_refused(tmp_path):
    cfg = _config(tmp_path)
    train(cfg, progress=False)
    (tmp_path / "run" / "config.json").unlink()
    with pytest.raises(BinoposeError, match="no config.json"):
        train(cfg, progress=False)
