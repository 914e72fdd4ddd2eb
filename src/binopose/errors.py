"""The one exception type binopose raises for bad input (the CLI turns it into a one-line error)."""


class BinoposeError(ValueError):
    """Bad input: a missing or malformed file, a wrong shape, a singular camera, an unknown option."""
