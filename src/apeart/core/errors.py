"""The one base of every known fault: the stage runner prints an ApeartError as one line, never a traceback."""


class ApeartError(Exception):
    """A fault with a message for the user: bad params, input, files or a failed run."""
