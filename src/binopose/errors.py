"""The one exception type binopose raises for bad input (the CLI turns it into a one-line error)."""


class BinoposeError(ValueError):
    """Bad input: a missing or malformed file, a wrong shape, a singular camera, an unknown option."""


class BinoposeWarning(UserWarning):
    """Something the user should know about a result that is still produced (the CLI prints one line)."""


def warn(message: str) -> None:
    """Warn the user (``warnings.warn`` with :class:`BinoposeWarning`; the CLI prints it as one line)."""
    import warnings

    warnings.warn(message, BinoposeWarning, stacklevel=2)
