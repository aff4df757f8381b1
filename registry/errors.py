"""One exception type for mistakes a user can fix: the CLI prints its message as a single line
and exits non-zero, without a traceback."""


class UserError(Exception):
    """Bad input: unknown name, value out of range, missing file, unwritable path, ..."""
