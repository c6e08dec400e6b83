"""CSV and JSON feeds into upstream events: reading, completing, checking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.events import EventType, ProductStockChanged, ProductUpserted, parse_event
from workers.ops import EXIT_USAGE, OpsError
from workers.ops.feed import (
    EventCompleter,
    FeedItem,
    prepare,
    read_csv,
    read_feed,
    read_json,
)

HEADER = (
    "sku,name,description,category,ean,mpn,brand,price,currency,stock,unit,images,"
    "attr:kolor,attr:moc_w"
)
ROW = (
    'KETTLE-1,Czajnik 1.7 l,"Szybki, cichy",Dom > Kuchnia,5901234123457,CZ-17,Acme,129.99,'
    "PLN,12,unit,https://shop.example/1.jpg| https://shop.example/2.jpg ,czarny,2200"
)


def _completer() -> EventCompleter:
    ids = iter(f"ev-{n}" for n in range(1, 1000))
    return EventCompleter(clock_ms=lambda: 1_767_225_600_000, new_id=lambda: next(ids))


def test_a_full_csv_row_becomes_a_product_upserted_event() -> None:
    [item] = list(read_csv(f"{HEADER}\n{ROW}\n", EventType.UPSERTED))
    assert item.where == "row 2" and item.problems == ()
    assert item.data == {
        "type": "product.upserted",
        "sku": "KETTLE-1",
        "name": "Czajnik 1.7 l",
        "description": "Szybki, cichy",
        "category": "Dom > Kuchnia",
        "ean": "5901234123457",
        "mpn": "CZ-17",
        "brand": "Acme",
        "price": {"amount": "129.99", "currency": "PLN"},
        "stock": {"available": 12, "unit": "UNIT"},
        "images": ["https://shop.example/1.jpg", "https://shop.example/2.jpg"],
        "attributes": {"kolor": "czarny", "moc_w": "2200"},
    }
    [prepared] = prepare([item], _completer())
    assert prepared.ok
    event = parse_event(prepared.body or b"")
    assert isinstance(event, ProductUpserted)
    assert event.event_id == "ev-1"
    assert event.version == 1_767_225_600_000
    assert event.occurred_at.isoformat() == "2026-01-01T00:00:00+00:00"
    assert event.price.amount == "129.99"


def test_empty_cells_are_left_out_and_the_marketplace_currency_fills_in() -> None:
    text = "sku;name;category;ean;price;stock;brand\nS-1;Mysz;PC > Myszy;;49.90;3;\n"
    [item] = list(read_csv(text, EventType.UPSERTED, default_currency="CZK"))
    assert item.data is not None
    assert "ean" not in item.data and "brand" not in item.data
    assert item.data["price"] == {"amount": "49.90", "currency": "CZK"}


def test_a_stock_feed_uses_only_the_stock_columns() -> None:
    text = "sku,name,price,stock,unit\nS-1,Mysz,10.00,0,pair\n"
    [item] = list(read_csv(text, EventType.STOCK))
    assert item.data == {
        "type": "product.stock",
        "sku": "S-1",
        "stock": {"available": 0, "unit": "PAIR"},
    }
    [prepared] = prepare([item], _completer())
    assert isinstance(prepared.event, ProductStockChanged)


def test_a_type_column_wins_per_row_and_deleted_rows_need_only_the_sku() -> None:
    text = "type,sku,stock\nproduct.deleted,S-1,\nproduct.stock,S-2,4\n"
    items = list(read_csv(text, EventType.UPSERTED))
    assert [i.data for i in items] == [
        {"type": "product.deleted", "sku": "S-1"},
        {"type": "product.stock", "sku": "S-2", "stock": {"available": 4}},
    ]
    assert all(p.ok for p in prepare(items, _completer()))


def test_bad_rows_name_their_row_column_and_fix() -> None:
    text = (
        "sku,name,category,ean,price,currency,stock,images\n"
        'S-1,Mysz,PC,5901234123457,"49,90",PLN,many,ftp://x/1.jpg\n'
        "\n"
        "S-2,Mysz,PC,5901234123457,49.90,PLN,1,\n"
    )
    bad, good = prepare(read_csv(text, EventType.UPSERTED), _completer())
    assert good.ok and good.where == "row 4"  # the blank line keeps its number
    assert not bad.ok and bad.where == "row 2"
    problems = "\n".join(bad.problems)
    assert "column stock: 'many' is not a whole number" in problems
    assert "column price:" in problems and "e.g. 129.99" in problems
    assert "column images (images[0])" in problems
    assert problems.count("column stock") == 1  # not repeated by the contract check


def test_a_row_with_more_cells_than_columns_is_reported() -> None:
    [item] = list(read_csv("sku,name\nS-1,Mysz,extra\n", EventType.UPSERTED))
    assert item.data is None
    assert "3 cells for 2 columns" in item.problems[0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("sku,colour", "rename it to attr:colour"),
        ("name,price", "no sku column"),
        ("sku,sku", "appears twice"),
        ("sku,attr:", "names no attribute"),
    ],
)
def test_an_unusable_header_is_a_usage_error(header: str, expected: str) -> None:
    with pytest.raises(OpsError) as raised:
        list(read_csv(header + "\n", EventType.UPSERTED))
    assert raised.value.exit_code == EXIT_USAGE
    assert expected in str(raised.value)


def test_a_json_array_and_json_lines_read_the_same() -> None:
    event = {"sku": "S-1", "stock": {"available": 2}}
    array = list(read_json(json.dumps([event, event]), EventType.STOCK))
    lines = list(read_json(json.dumps(event) + "\n\n" + json.dumps(event) + "\n", EventType.STOCK))
    assert [i.where for i in array] == ["item 1", "item 2"]
    assert [i.where for i in lines] == ["line 1", "line 3"]
    assert all(i.data == {**event, "type": "product.stock"} for i in array + lines)


def test_json_problems_point_at_the_item_and_field() -> None:
    price = {"type": "product.price", "sku": "S-1", "price": {"amount": 12.5, "currency": "PLN"}}
    text = json.dumps(price) + "\n[1]\nnot json\n"
    prepared = prepare(read_json(text, EventType.UPSERTED), _completer())
    assert [p.where for p in prepared] == ["line 1", "line 2", "line 3"]
    assert prepared[0].problems[0].startswith("price.amount:")
    assert "must be a JSON object" in prepared[1].problems[0]
    assert "is not valid JSON" in prepared[2].problems[0]


def test_given_ids_and_versions_are_kept_and_a_repeated_id_is_a_problem() -> None:
    event = {"type": "product.deleted", "sku": "S-1", "event_id": "e-1", "version": 7}
    items = [FeedItem("item 1", dict(event)), FeedItem("item 2", dict(event))]
    first, second = prepare(items, _completer())
    assert first.ok and first.event is not None
    assert (first.event.event_id, first.event.version) == ("e-1", 7)
    assert not second.ok and "repeats item 1" in second.problems[0]


def test_generated_versions_increase_strictly_within_a_run() -> None:
    completer = EventCompleter(clock_ms=lambda: 1000)
    versions = [completer.complete({})["version"] for _ in range(3)]
    assert versions == [1000, 1001, 1002]
    ids = {completer.complete({})["event_id"] for _ in range(3)}
    assert len(ids) == 3


def test_read_feed_picks_the_format(tmp_path: Path) -> None:
    csv_file = tmp_path / "feed.txt"
    csv_file.write_text("\ufeffsku,stock\nS-1,3\n", encoding="utf-8")
    json_file = tmp_path / "feed.data"
    json_file.write_text('[{"sku": "S-1", "stock": {"available": 3}}]', encoding="utf-8")
    [from_csv] = read_feed(csv_file, EventType.STOCK)
    [from_json] = read_feed(json_file, EventType.STOCK)
    assert from_csv.data == from_json.data


def test_an_unreadable_feed_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(OpsError) as missing:
        read_feed(tmp_path / "none.csv", EventType.UPSERTED)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("sku,name\nS-1,Łódź\n".encode("iso-8859-2"))
    with pytest.raises(OpsError) as not_utf8:
        read_feed(latin, EventType.UPSERTED)
    assert missing.value.exit_code == not_utf8.value.exit_code == EXIT_USAGE
    assert "UTF-8" in str(not_utf8.value)
