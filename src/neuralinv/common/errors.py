"""The one exception type for bad input: the CLI prints its message on one line and exits non-zero."""


class InputError(ValueError):
    """Bad input from a user: a wrong shape, a non-finite value, an unknown name, a mismatched checkpoint."""
