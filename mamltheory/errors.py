"""Errors the CLI turns into one line on stderr and exit status 2."""


class InputError(ValueError):
    """Bad user input: the message names the parameter and the rule it breaks."""


class PreconditionError(InputError):
    """A result was evaluated outside its preconditions; the message names the condition and its source."""
