"""The one exception type binopose raises for bad input (the CLI turns it into a one-line error)."""


class BinoposeError(ValueError):
    """Bad input: a missing or malformed file, a wrong shape, a singular camera, an unknown option."""


class OutputError(OSError):
    """An output file or folder cannot be written. ``usage`` is True when the path itself is wrong (a
    folder where a file is expected, a path under a regular file): the CLI exits 2 then, else 1."""

    def __init__(self, path: object, reason: str, code: int = 0, usage: bool = False) -> None:
        super().__init__(code, reason, str(path))
        self.usage = usage

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


class BinoposeWarning(UserWarning):
    """Something the user should know about a result that is still produced (the CLI prints one line)."""


def warn(message: str) -> None:
    """Warn the user (``warnings.warn`` with :class:`BinoposeWarning`; the CLI prints it as one line)."""
    import warnings

    warnings.warn(message, BinoposeWarning, stacklevel=2)
