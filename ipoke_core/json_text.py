"""JSON read from files a user (or anyone) may have edited, and JSON written for other programs.

``json.loads`` raises more than ``JSONDecodeError`` on hostile text: ``RecursionError`` for arrays
nested 200,000 deep, ``ValueError`` for an integer of 5,000 digits, and it accepts ``NaN`` and
``Infinity``, which are not JSON. :func:`parse` turns every failure into one :class:`JsonError`;
:func:`dumps` writes strict JSON, a non-finite number as ``null``.
"""
from __future__ import annotations

import json
import math
from typing import Any


class JsonError(ValueError):
    """Text that is not usable JSON; ``str(err)`` says why in one line."""


def parse(text: str) -> Any:
    """The value of JSON ``text``, or :class:`JsonError` (never RecursionError, never a traceback)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise JsonError(f"not valid JSON ({e})") from None
    except RecursionError:
        raise JsonError("not usable JSON (nested too deeply)") from None
    except (ValueError, OverflowError) as e:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise JsonError(f"not usable JSON ({str(e).splitlines()[0]})") from None


def finite_or_none(value: Any) -> Any:
    """``value`` with every NaN or infinite float inside it replaced by None (strict JSON's null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """Strict JSON text of ``value``: NaN and infinities become null, as other programs expect."""
    return json.dumps(finite_or_none(value), allow_nan=False, **kwargs)
