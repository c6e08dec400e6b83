"""The fast JSON of the hot paths (``workers._json``): the same values as the standard
library reads and writes, including what orjson alone refuses, and Dramatiq messages that
either encoder reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from dramatiq.encoder import JSONEncoder

from workers import _json
from workers.store.sqlite import SQLiteStore

VALUES: list[Any] = [
    {"name": "Słuchawki „Sony” czarne", "stock": {"available": 7}, "price": "999.00"},
    {"nested": [1, 2.5, None, True, {"k": []}], "empty": {}},
    "zażółć\u2028\x7f\x01",
    2**70,  # beyond 64 bits: orjson refuses it, json takes it
    -(2**64),
]


@pytest.mark.parametrize("value", VALUES)
def test_writes_what_json_reads_and_reads_what_json_writes(value: Any) -> None:
    text = _json.dumps_text(value)
    assert json.loads(text) == value
    assert _json.loads(text) == value
    assert _json.loads(json.dumps(value)) == value
    assert _json.loads(text.encode()) == value


def test_keys_that_are_not_strings_are_written_as_json_writes_them() -> None:
    value = {1: "a", 2: {"x": 1}}
    assert _json.dumps_text(value) == json.dumps(value, separators=(",", ":"))


def test_non_ascii_is_written_as_it_is_and_compact() -> None:
    assert _json.dumps_text({"a": "ó", "b": [1, 2]}) == '{"a":"ó","b":[1,2]}'


def test_bad_json_raises_the_standard_error() -> None:
    with pytest.raises(ValueError, match=r"Expecting|Extra data"):
        _json.loads("{not json")


def test_dramatiq_messages_are_read_by_either_encoder() -> None:
    message = {
        "queue_name": "allegro.publish",
        "actor_name": "publish",
        "args": [{"sku": "Słuchawki-1", "version": 2**63 - 1, "body": {"name": "„x”"}}],
        "kwargs": {},
        "options": {"retries": 1},
        "message_id": "m-1",
        "message_timestamp": 1_790_000_000_000,
    }
    ours, theirs = _json.DramatiqEncoder(), JSONEncoder()
    assert theirs.decode(ours.encode(message)) == message
    assert ours.decode(theirs.encode(message)) == message


def test_the_sqlite_store_keeps_json_columns_through_the_fast_path(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    try:
        dialect = store.dialect
        for value in VALUES:
            assert dialect.json_out(dialect.json_in(value)) == value
    finally:
        store.close()
