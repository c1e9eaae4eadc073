"""Step 4's secret seeds: the same submission gets the same inputs, and so the same grade.

Every exercise is checked on inputs drawn from a seed the learner's code never
sees. The seed of a (learner, lesson, exercise) is an HMAC of those names
under the **grader secret**, so grading the same notebook again (``--force``,
a resubmission, a new grader version) draws the same inputs: a half-right
answer cannot score 4.667 on one try and 5 on the next.

The grader secret is, in order:

1. the file given with ``mlcourse grade --secret-file FILE``;
2. the environment variable ``MLCOURSE_GRADER_SECRET`` (never passed on to the
   fork server or the children);
3. ``OUT/grader-secret.key``, created once with mode 0600 next to the
   gradebook, and kept: delete it and every seed changes.

Examples
--------
>>> seed(b"k" * 32, "ann", "01_data", "data.fingerprint") == seed(b"k" * 32, "ann", "01_data", "data.fingerprint")
True
>>> seed(b"k" * 32, "ann", "01_data", "data.fingerprint") != seed(b"k" * 32, "bob", "01_data", "data.fingerprint")
True
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ENV = "MLCOURSE_GRADER_SECRET"
FILE_NAME = "grader-secret.key"


class SecretError(RuntimeError):
    """The grader secret cannot be read or made (one line for the user)."""


def seed(secret: bytes, learner: str, lesson: str, exercise: str) -> int:
    """A 63-bit seed for one exercise of one learner's lesson."""
    message = "\0".join((learner, lesson, exercise)).encode("utf-8", "surrogatepass")
    return int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big") >> 1


def _from_text(text: str, where: str) -> bytes:
    value = text.strip()
    if len(value) < 16:
        raise SecretError(f"the grader secret in {where} is too short (at least 16 characters)")
    return value.encode("utf-8")


def grader_secret(out: Path, secret_file: Path | None = None) -> bytes:
    """The grader secret (see the module docstring), creating ``OUT/grader-secret.key`` if needed."""
    if secret_file is not None:
        try:
            return _from_text(Path(secret_file).read_text(encoding="utf-8"), str(secret_file))
        except OSError as exc:
            raise SecretError(f"cannot read the grader secret {secret_file}: {exc.strerror or exc}") from None
    if os.environ.get(ENV):
        return _from_text(os.environ[ENV], f"${ENV}")
    path = Path(out) / FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            return _from_text(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise SecretError(f"cannot read the grader secret {path}: {exc.strerror or exc}") from None
    except OSError as exc:
        raise SecretError(f"cannot create the grader secret {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return _from_text(path.read_text(encoding="utf-8"), str(path))


__all__ = ["ENV", "FILE_NAME", "SecretError", "grader_secret", "seed"]
