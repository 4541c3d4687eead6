"""Errors a user can fix (a bad parameter, a missing file, a full disk) and how a run reports them.

A user error ends a ``kedro run`` with its message as the last thing printed, without the
traceback that a programming error keeps (``install_user_error_report``).
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable
from types import TracebackType


class UserError(Exception):
    """Something the user can fix: the message says what and how."""


class ParameterError(UserError, ValueError):
    """A parameter value that is not allowed (the message names the parameter)."""


class MissingInputError(UserError, FileNotFoundError):
    """A stored artifact or file a run needs is not there (the message says how to make it)."""


def user_error(error: BaseException | None) -> BaseException | None:
    """``error`` or the first error in its chain that a user can fix, else None."""
    from kedro.validation.exceptions import ParameterValidationError

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, UserError | ParameterValidationError):
            return error
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return error
        error = error.__cause__ or error.__context__
    return None


def install_user_error_report() -> None:
    """Make the interpreter print user errors as one message, other errors as usual."""
    previous: Callable[..., object] = sys.excepthook
    if getattr(previous, "reports_user_errors", False):
        return

    def report(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        found = user_error(value)
        if found is None:
            previous(kind, value, tb)
            return
        print(f"\nError: {found}", file=sys.stderr)

    report.reports_user_errors = True  # type: ignore[attr-defined]
    sys.excepthook = report
