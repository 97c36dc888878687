"""The command as the operator invoked it, for messages that tell them what to run next.

`python main.py` from a checkout, `flowpilot-analytics` once installed: a message that
says "run `python main.py migrate`" to someone who typed `flowpilot-analytics` sends
them looking for a file they do not have.
"""

from __future__ import annotations

SCRIPT = "flowpilot-analytics"
CHECKOUT = "python main.py"

_invoked_as = CHECKOUT


def invoked_as() -> str:
    """`python main.py` or `flowpilot-analytics`: how this process was started."""
    return _invoked_as


def remember(prog: str) -> None:
    global _invoked_as
    _invoked_as = prog


def command(words: str) -> str:
    """`words` (a command and its arguments) as the operator would type it, in backticks."""
    return f"`{_invoked_as} {words}`"
