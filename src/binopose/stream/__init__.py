"""Chunked file paths of the CLI: inputs read, refined, scored and written a chunk of frames at a time,
so that ``binopose refine`` and ``binopose eval`` need the same memory for 10 million poses as for ten
thousand (``docs/ROBUSTNESS.md``, memory)."""

#: frames per chunk read from a file (a multiple of the refiner's CPU chunk, so that results do not
#: depend on the chunking: the refiner draws its hypotheses per chunk of its own)
CHUNK = 32768
