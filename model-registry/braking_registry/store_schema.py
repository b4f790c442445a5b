"""The registry database's tables and indexes (SQLite).

`resources` holds every resource: scalar columns for what the API looks up, orders and keeps
unique, and the body as JSON. `properties` copies each searchable value (well-known fields
and custom properties) into typed columns, one index per type, so `filterQuery` comparisons
are index range scans instead of JSON parsing per row.
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT,
    external_id TEXT,
    parent_id INTEGER,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS resources_unique_name
    ON resources (kind, type, ifnull(parent_id, 0), name)
    WHERE name IS NOT NULL AND kind != 'metric_history';
CREATE UNIQUE INDEX IF NOT EXISTS resources_external_id
    ON resources (kind, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS resources_by_name ON resources (kind, name, parent_id);
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources (kind, parent_id, id);
CREATE INDEX IF NOT EXISTS resources_by_parent_create
    ON resources (kind, parent_id, create_time, id);
CREATE INDEX IF NOT EXISTS resources_by_parent_update
    ON resources (kind, parent_id, update_time, id);
CREATE INDEX IF NOT EXISTS resources_by_create ON resources (kind, create_time, id);
CREATE INDEX IF NOT EXISTS resources_by_update ON resources (kind, update_time, id);
-- kind + rowid: listings in id order walk one kind's rows in order (filters test the rowid).
CREATE INDEX IF NOT EXISTS resources_by_kind ON resources (kind);
CREATE TABLE IF NOT EXISTS properties (
    resource_id INTEGER NOT NULL,
    custom INTEGER NOT NULL,
    name TEXT NOT NULL,
    string_value TEXT,
    int_value INTEGER,
    double_value REAL,
    bool_value INTEGER,
    PRIMARY KEY (resource_id, custom, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS properties_by_string
    ON properties (name, custom, string_value) WHERE string_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS properties_by_int
    ON properties (name, custom, int_value) WHERE int_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS properties_by_double
    ON properties (name, custom, double_value) WHERE double_value IS NOT NULL;
CREATE INDEX IF NOT EXISTS properties_by_bool
    ON properties (name, custom, bool_value) WHERE bool_value IS NOT NULL;
"""
# Bumped when the derived `properties` rows change shape: opening an older file re-indexes.
INDEX_VERSION = 1
