"""The gate's shrinkage in two parts, position and shape (issue 15): the pre-registered rule of
2026-12-03 18:23 UTC (git log: "Pre-registered ... the gate's shrinkage in two parts").

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python experiments/stress.py --seed 2 --arms default,split \\
        --json experiments/results/stress_seed2.json --png docs/img/stress_seed2.png
    PYTHONPATH=src .venv/bin/python experiments/do_no_harm.py          # the six cells, every column
    PYTHONPATH=src .venv/bin/python experiments/split_gate.py [--json experiments/results/split_gate.json]

The candidate (``gate="lcb-split"``, :class:`binopose.guard.Split`) shrinks the correction's per-frame
mean over the joints (where the pose is) and the rest (its shape) by separate alphas, each at the 90 %
lower bound, with the default's common probes. Judged on (a) the stress study's fresh draw (seed 2),
(b) the six ``do_no_harm`` cells (column ``split-lcb``), (c) the Pose2Sim held-out judge, (d) the tests
with it as the default (by hand: ``RefineOptions.gate`` set to "lcb-split", then ``pytest
tests/test_do_no_harm.py tests/test_streaming.py``).
"""

from __future__ import annotations

import sys

from candidate import (
    RESULTS,
    arguments,
    gate_rule,
    judged,
    stress_judge,
    write,
)

#: the default's Pose2Sim px since the rule of 18:10 UTC (common probes)
DEFAULT_PX = 22.534


def verdict(p2s: dict, table: dict, stress: dict) -> dict:
    """The rule's conditions (a)-(c)."""
    return gate_rule(p2s, table, stress, "split-lcb", "split", (0, 1), 0.3, DEFAULT_PX)


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "split_gate", argv, {"--stress": RESULTS / "stress_seed2.json"})
    arms = {"default": "gate-lcb-ones", "split": "split-lcb-ones"}
    return write(args, judged(args, "split-lcb", arms, stress_judge(args.stress, verdict)))


if __name__ == "__main__":
    sys.exit(main())
