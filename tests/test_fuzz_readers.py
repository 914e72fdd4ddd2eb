"""Every file reader, fed a few hundred malformed files (tests/fuzz_readers.py; the full run of 12,000
cases is ``python tests/fuzz_readers.py``): each returns or raises BinoposeError, nothing else."""

from __future__ import annotations

import torch
from fuzz_readers import run


def test_readers_refuse_malformed_files_cleanly():
    threads = torch.get_num_threads()
    try:
        res = run(240, seed=0, verbose=False)
    finally:
        torch.set_num_threads(threads)
    assert res["total"]["cases"] == 240 and len(res["per_reader"]) >= 8
    assert res["total"]["crashes"] == 0, res["first_crashes"]
    assert res["total"]["suspect"] == 0, res["first_suspects"]
