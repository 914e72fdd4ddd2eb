"""The gate's probes with a per-frame common part (issue 15): the pre-registered rule of 2026-12-03 18:10
UTC (git log: "Pre-registered ... the gate's probes with a per-frame common part").

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed 1 --arms default,common \\
        --json experiments/results/stress_seed1.json --png docs/img/stress_seed1.png
    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, every column
    PYTHONPATH=src .venv/bin/python experiments/common_gate.py [--json experiments/results/common_gate.json]

The candidate (``gate_noise="common"``, :meth:`binopose.guard.ResidualSums.noise`) draws the gate's
probes from a noise model with a per-frame part that every joint of a view shares, estimated from the
triangulation residual's common mode. Judged on (a) the stress study's fresh draw (seed 1), (b) the six
``do_no_harm`` cells (column ``common-lcb``), (c) the Pose2Sim held-out judge, (d) the tests with it as
the default (run by hand: ``RefineOptions.gate_noise`` set to "common", then ``pytest
tests/test_do_no_harm.py tests/test_streaming.py``).
"""

from __future__ import annotations

import sys

from candidate import (
    DEFAULT_POSE2SIM_PX,
    RESULTS,
    arguments,
    gate_rule,
    judged,
    stress_judge,
    write,
)


def verdict(p2s: dict, table: dict, stress: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    return gate_rule(p2s, table, stress, "common-lcb", "common", (0,), 0.5, DEFAULT_POSE2SIM_PX)


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "common_gate", argv, {"--stress": RESULTS / "stress_seed1.json"})
    arms = {"default": "gate-lcb-ones", "common": "common-lcb-ones"}
    return write(args, judged(args, "common-lcb", arms, stress_judge(args.stress, verdict)))


if __name__ == "__main__":
    sys.exit(main())
