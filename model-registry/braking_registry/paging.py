"""Keyset page tokens: opaque to clients, checked strictly when they come back."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

INT64 = 2**63


class BadPageToken(ValueError):
    """A nextPageToken this store did not issue."""


@dataclass(frozen=True)
class Page:
    """One page of a listing; `next_page_token` is empty on the last page."""

    rows: list[Any]
    next_page_token: str
    page_size: int


def encode_token(order: str, value: int, last_id: int) -> str:
    """The token resuming a listing ordered by `order` after (`value`, `last_id`)."""
    raw = json.dumps([order, value, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -INT64 <= value < INT64


def decode_token(token: str, order: str) -> tuple[int, int]:
    """(order value, last id) of a token issued for `order`; `BadPageToken` otherwise.

    Forged tokens are refused here, including integers SQLite cannot bind (beyond int64).
    """
    try:
        padded = token + "=" * (-len(token) % 4)
        token_order, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
        if token_order != order or not (_is_int64(value) and _is_int64(last_id)):
            raise ValueError(token_order)
    except (ValueError, TypeError, binascii.Error, RecursionError) as error:
        raise BadPageToken(
            f"{token[:80]!r} is not a token issued for orderBy={order}; pass the nextPageToken "
            "of the previous page unchanged"
        ) from error
    return value, last_id
