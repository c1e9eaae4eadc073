"""Errors shared across the command line."""


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""
