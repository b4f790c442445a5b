"""Paging walks every row exactly once, in the requested order, for every order field."""

from __future__ import annotations

import pytest

from braking_registry.store import (
    MODEL_VERSION,
    ORDER_COLUMNS,
    REGISTERED_MODEL,
    BadPageToken,
    Conflict,
    Criteria,
    RegistryStore,
)


@pytest.fixture
def store(tmp_path):
    store = RegistryStore(tmp_path / "store.db")
    yield store
    store.close()


def _walk(store: RegistryStore, criteria: Criteria, **options) -> list[int]:
    ids, token = [], None
    while True:
        page = store.list(criteria, page_token=token, **options)
        ids += [row.id for row in page.rows]
        if not page.next_page_token:
            return ids
        token = page.next_page_token


@pytest.mark.parametrize("order_by", sorted(ORDER_COLUMNS))
@pytest.mark.parametrize("descending", [False, True])
def test_pages_cover_every_row_once_in_order(store, order_by, descending):
    model = store.create(REGISTERED_MODEL, REGISTERED_MODEL, {}, name="m")
    created = [
        store.create(MODEL_VERSION, MODEL_VERSION, {}, name=str(n), parent_id=model.id)
        for n in range(11)
    ]
    # Touch versions in a scrambled order so update times disagree with ids.
    for row in created[::3] + created[1::3]:
        store.update(MODEL_VERSION, row.id, lambda r: ({"touched": True}, None, r.parent_id))
    criteria = Criteria(MODEL_VERSION, parent_id=model.id)
    column = ORDER_COLUMNS[order_by]
    stored = store.list(criteria, page_size=100).rows
    expected = [r.id for r in sorted(stored, key=lambda r: (getattr(r, column), r.id))]

    walked = _walk(store, criteria, order_by=order_by, descending=descending, page_size=4)

    assert walked == (expected[::-1] if descending else expected)


def test_token_of_another_ordering_is_refused(store):
    for n in range(3):
        store.create(REGISTERED_MODEL, REGISTERED_MODEL, {}, name=str(n))
    token = store.list(Criteria(REGISTERED_MODEL), page_size=1).next_page_token
    with pytest.raises(BadPageToken, match="orderBy=CREATE_TIME"):
        store.list(Criteria(REGISTERED_MODEL), order_by="CREATE_TIME", page_token=token)


def test_external_ids_are_unique_per_kind(store):
    store.create(REGISTERED_MODEL, REGISTERED_MODEL, {}, name="a", external_id="x")
    store.create(MODEL_VERSION, MODEL_VERSION, {}, name="1", external_id="x", parent_id=1)
    with pytest.raises(Conflict):
        store.create(REGISTERED_MODEL, REGISTERED_MODEL, {}, name="b", external_id="x")
