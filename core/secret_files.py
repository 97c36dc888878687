"""Secret settings read from files: `<NAME>_FILE` names a file holding `<NAME>`'s value.

Container platforms (Docker and Kubernetes secrets, systemd credentials) hand secrets
over as files, so a secret need not sit in the environment, where `ps e`, crash dumps
and child processes can read it. One trailing newline is dropped (what `echo` and most
editors add); the rest of the file is the value, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class SecretFileError(ValueError):
    """The secret's variable and its `_FILE` disagree, or the file cannot be used."""


def secret_value(variable: str, environ: Mapping[str, str]) -> str | None:
    """`variable`'s value from the environment or from the file `<variable>_FILE` names;
    None when neither is set (or both are empty)."""
    value = environ.get(variable) or None
    path = environ.get(f"{variable}_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise SecretFileError(f"set {variable} or {variable}_FILE, not both")
    return read_secret_file(path, f"{variable}_FILE")


def read_secret_file(path: str, source: str) -> str:
    """The secret in the file at `path` (one trailing newline dropped); `source` names
    where the path came from, for the message."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{source}: {path} is not UTF-8 text") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise SecretFileError(f"{source}: cannot read {path}: {reason}") from None
    return non_empty(strip_newline(text), f"{source}: {path} is empty")


def strip_newline(text: str) -> str:
    """`text` without the one line ending `echo` or an editor puts after a secret."""
    return text.removesuffix("\n").removesuffix("\r")


def non_empty(text: str, message: str) -> str:
    if not text:
        raise SecretFileError(message)
    return text
