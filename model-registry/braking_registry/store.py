"""SQLite persistence of registry resources (WAL mode, safe for many writer processes).

One table holds every resource kind. Scalar columns carry what the API searches, orders and
keeps unique (name within its parent, externalId within its kind); `body` holds the rest as
JSON. Ids come from AUTOINCREMENT, so they are monotonic and never reused, like upstream's.
Writes run in `BEGIN IMMEDIATE` transactions and wait on `busy_timeout`, so concurrent
writers (threads of one server or several processes on one file) queue instead of failing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from braking_registry.filter_sql import Condition
from braking_registry.paging import BadPageToken, Page, decode_token, encode_token
from braking_registry.store_schema import INDEX_VERSION, SCHEMA

ORDER_COLUMNS = {"ID": "id", "CREATE_TIME": "create_time", "LAST_UPDATE_TIME": "update_time"}
REGISTERED_MODEL = "registered_model"
MODEL_VERSION = "model_version"
ARTIFACT = "artifact"
MAX_PAGE_SIZE = 1000
__all__ = ["BadPageToken", "Conflict", "Criteria", "NotFound", "Page", "RegistryStore", "Row"]
# Where a kind's names must be unique (parent ids are part of the unique index).
SCOPES = {
    "registered_model": "registry",
    "model_version": "registered model",
    "experiment": "registry",
    "experiment_run": "experiment",
    "serving_environment": "registry",
    "inference_service": "serving environment",
    "serve_model": "inference service",
    "artifact": "parent and artifact type",
}


class NotFound(LookupError):
    """No resource matches."""


class Conflict(ValueError):
    """A name or externalId is already taken in its scope."""


@dataclass(frozen=True)
class Row:
    """One stored resource."""

    id: int
    kind: str
    type: str
    name: str | None
    external_id: str | None
    parent_id: int | None
    create_time: int
    update_time: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Criteria:
    """What a lookup matches: one kind, optionally narrowed by type, name, externalId, parent."""

    kind: str
    type: str | None = None
    name: str | None = None
    external_id: str | None = None
    parent_id: int | None = None

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition and parameters."""
        clauses, params = ["kind = ?"], [self.kind]
        for column in ("type", "name", "external_id", "parent_id"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return " AND ".join(clauses), params


# (body, externalId, parent id) of a resource after an update, computed from its current row.
Change = Callable[[Row], tuple[dict[str, Any], str | None, int | None]]
# One searchable value: (custom?, name, string, int, double, bool), see filter_sql.py.
Property = tuple[bool, str, str | None, int | None, float | None, bool | None]
# The searchable values of a resource, given its kind, type and body.
Indexer = Callable[[str, str, dict[str, Any]], list[Property]]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class RegistryStore:
    """Thread-safe access to one registry database file (one connection per thread)."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_ms: int = 30_000,
        indexer: Indexer = lambda kind, type_, body: [],
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._indexer = indexer
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._connection().executescript(SCHEMA)
        self._reindex_if_outdated()

    def _reindex_if_outdated(self) -> None:
        with self._write() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] >= INDEX_VERSION:
                return
            db.execute("DROP INDEX IF EXISTS resources_name_in_parent")  # before metric history
            db.execute("DELETE FROM properties")
            for row in db.execute("SELECT * FROM resources").fetchall():
                resource = self._row(row)
                self._index(db, resource.id, resource.kind, resource.type, resource.body)
            db.execute(f"PRAGMA user_version = {INDEX_VERSION}")

    def _index(
        self, db: sqlite3.Connection, resource_id: int, kind: str, type_: str, body: dict
    ) -> None:
        db.execute("DELETE FROM properties WHERE resource_id = ?", (resource_id,))
        db.executemany(
            "INSERT OR REPLACE INTO properties VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(resource_id, *values) for values in self._indexer(kind, type_, body)],
        )

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            # LIKE is case-sensitive, as upstream's; ILIKE is the case-insensitive one.
            db.execute("PRAGMA case_sensitive_like = ON")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def create(
        self,
        kind: str,
        type_: str,
        body: dict[str, Any],
        *,
        name: str | None = None,
        external_id: str | None = None,
        parent_id: int | None = None,
    ) -> Row:
        """Insert a resource; `Conflict` when its name or externalId is taken."""
        now = _now_ms()
        try:
            with self._write() as db:
                cursor = db.execute(
                    "INSERT INTO resources (kind, type, name, external_id, parent_id, "
                    "create_time, update_time, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, type_, name, external_id, parent_id, now, now, json.dumps(body)),
                )
                new_id = cursor.lastrowid
                assert new_id is not None  # sqlite3 sets it after every INSERT
                self._index(db, new_id, kind, type_, body)
        except sqlite3.IntegrityError as error:
            raise Conflict(self._conflict_message(kind, type_, name, external_id)) from error
        return Row(new_id, kind, type_, name, external_id, parent_id, now, now, body)

    def update(self, kind: str, resource_id: int, change: Change) -> Row:
        """Apply `change` to a resource inside one write transaction; bump its update time.

        `change(current)` returns the new (body, externalId, parent id). Reading and writing
        in the same transaction means concurrent PATCHes of different fields never undo
        each other.
        """
        now = _now_ms()
        try:
            with self._write() as db:
                current = self.get(kind, resource_id)
                body, external_id, parent_id = change(current)
                db.execute(
                    "UPDATE resources SET body = ?, external_id = ?, parent_id = ?, "
                    "update_time = max(?, create_time) WHERE kind = ? AND id = ?",
                    (json.dumps(body), external_id, parent_id, now, kind, resource_id),
                )
                self._index(db, resource_id, kind, current.type, body)
        except sqlite3.IntegrityError as error:
            raise Conflict(
                self._conflict_message(kind, current.type, current.name, external_id)
            ) from error
        return self.get(kind, resource_id)

    @staticmethod
    def _conflict_message(kind: str, type_: str, name: str | None, external_id: str | None) -> str:
        taken = [f"name {name!r} (unique per {SCOPES.get(kind, 'parent')})"]
        if external_id is not None:
            taken.append(f"externalId {external_id!r} (unique per {kind})")
        return f"a {type_} already uses {' or '.join(taken)}"

    def get(self, kind: str, resource_id: int) -> Row:
        """The resource with this id; `NotFound` otherwise."""
        row = (
            self._connection()
            .execute("SELECT * FROM resources WHERE kind = ? AND id = ?", (kind, resource_id))
            .fetchone()
        )
        if row is None:
            raise NotFound(resource_id)
        return self._row(row)

    def find(self, criteria: Criteria) -> Row:
        """The first resource (lowest id) matching `criteria`; `NotFound` otherwise."""
        where, params = criteria.where()
        # `+id`: sort the few matches rather than walk an id-ordered index past every row.
        sql = f"SELECT * FROM resources WHERE {where} ORDER BY +id LIMIT 1"
        row = self._connection().execute(sql, params).fetchone()
        if row is None:
            raise NotFound(criteria.name or criteria.external_id)
        return self._row(row)

    def list(
        self,
        criteria: Criteria,
        *,
        order_by: str = "ID",
        descending: bool = False,
        page_size: int = 100,
        page_token: str | None = None,
        condition: Condition | None = None,
    ) -> Page:
        """A page of resources matching `criteria` and `condition` (a compiled filterQuery),
        keyset-paginated on (order column, id)."""
        column = ORDER_COLUMNS[order_by]
        page_size = min(page_size, MAX_PAGE_SIZE)
        where, params = criteria.where()
        if condition is not None:
            where += f" AND {condition.sql}"
            params += condition.params
        if page_token:
            value, last_id = decode_token(page_token, order_by)
            op = "<" if descending else ">"
            where += f" AND ({column}, id) {op} (?, ?)"  # a row value: an index range scan
            params += [value, last_id]
        direction = "DESC" if descending else "ASC"
        sql = (
            f"SELECT * FROM resources WHERE {where} "
            f"ORDER BY {column} {direction}, id {direction} LIMIT ?"
        )
        fetched = self._connection().execute(sql, [*params, page_size + 1]).fetchall()
        rows = [self._row(row) for row in fetched[:page_size]]
        token = ""
        if len(fetched) > page_size:
            last = rows[-1]
            token = encode_token(order_by, getattr(last, column), last.id)
        return Page(rows, token, page_size)

    @staticmethod
    def _row(row: tuple[Any, ...]) -> Row:
        id_, kind, type_, name, external_id, parent_id, created, updated, body = row
        body = json.loads(body)
        return Row(id_, kind, type_, name, external_id, parent_id, created, updated, body)

    def count(self, kind: str) -> int:
        """How many resources of a kind are stored."""
        sql = "SELECT count(*) FROM resources WHERE kind = ?"
        return self._connection().execute(sql, (kind,)).fetchone()[0]
