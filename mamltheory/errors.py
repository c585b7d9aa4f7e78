"""Errors the CLI turns into one line on stderr: InputError and StoreError exit 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: the message names the parameter and the rule it breaks; `field` is that parameter."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PreconditionError(InputError):
    """A result was evaluated outside its preconditions; the message names the condition and its source."""


class StoreError(Exception):
    """A result store that cannot be used: the message names the file, what is wrong and what to do."""
