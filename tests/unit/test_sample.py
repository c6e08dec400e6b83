"""The bundled sample shop (``workers/sample``) and the pure parts of ``make run``
(``workers/runjob/``).

The sample's data is checked against the sandbox's own data files (categories, parameters,
catalogue), so that every product the sample calls valid can become an offer there and
every deliberately broken one fails for the reason it is labelled with.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import pika
import pytest

from schemas.errors import EventError
from schemas.events import gtin_check_digit_ok, parse_event
from schemas.mapping import MappingFile, load_mapping, normalize_category_path
from workers import runjob
from workers.sample import MAPPING_FILE, SampleEvent, expected_counts, sample_events, waves
from workers.sample.build import CATALOGUE_PATH, build_catalogue, render
from workers.sample.lines import gtin_with_check_digit

DATA = Path(__file__).resolve().parents[2] / "sandbox" / "data"
GTIN, MPN, CONDITION = "225693", "224017", "11323"
#: Defects that the schema lets through and the pipeline must reject.
PIPELINE_DEFECTS = {
    "name_too_short",
    "name_few_words",
    "name_long_word",
    "price_too_low",
    "unmapped_category",
    "value_not_in_dictionary",
    "missing_required_attribute",
    "no_images",
    "ean_check_digit",
    "multi_product_gtin",
}
#: Defects that leave the attributes whole (the product covers its category's parameters).
COMPLETE_DEFECTS = PIPELINE_DEFECTS - {
    "unmapped_category",
    "value_not_in_dictionary",
    "missing_required_attribute",
}


# --- the sandbox's data -----------------------------------------------------------------------


@cache
def _categories() -> dict[str, dict[str, Any]]:
    data = json.loads((DATA / "categories.json").read_text(encoding="utf-8"))
    return {c["id"]: c for c in data["categories"]}


@cache
def _parameters() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(
        (DATA / "parameters.json").read_text(encoding="utf-8")
    )
    return data


@cache
def _catalogue() -> list[dict[str, Any]]:
    data = json.loads((DATA / "products.json").read_text(encoding="utf-8"))
    products: list[dict[str, Any]] = data["products"]
    return products


def _catalogue_values(product: dict[str, Any], parameter_id: str) -> list[str]:
    return [
        str(v)
        for p in product["parameters"]
        if p["id"] == parameter_id
        for v in (p.get("values") or [])
    ]


def _by_gtin(ean: str) -> list[dict[str, Any]]:
    return [
        p
        for p in _catalogue()
        if ean.zfill(14) in {v.zfill(14) for v in _catalogue_values(p, GTIN)}
    ]


@cache
def _mapping() -> MappingFile:
    return load_mapping(MAPPING_FILE)


def _leaf(store_category: str) -> str | None:
    """The Allegro category of a store path under the sample mapping (exact, then the
    longest whole-segment prefix, then the default)."""
    rules = _mapping().categories
    path = normalize_category_path(store_category)
    for key, leaf in rules.exact.items():
        if normalize_category_path(key) == path:
            return leaf
    best: tuple[int, str] | None = None
    for key, leaf in rules.prefix.items():
        prefix = normalize_category_path(key)
        if path[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
            best = (len(prefix), leaf)
    return best[1] if best else rules.default


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split()).lower()


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None


# --- the sample -------------------------------------------------------------------------------


def _events() -> list[SampleEvent]:
    return sample_events()


def _upserts() -> list[SampleEvent]:
    return [e for e in _events() if e.wave == 1]


def _schema_valid_products() -> Iterator[tuple[SampleEvent, str]]:
    """Wave-1 events the schema accepts and the mapping categorizes, with their leaf."""
    for event in _upserts():
        if event.expect.stage == "ingest" or event.expect.defect == "unmapped_category":
            continue
        leaf = _leaf(event.body["category"])
        assert leaf is not None, event.sku
        yield event, leaf


def _rule_values(event: SampleEvent, leaf: str, parameter: dict[str, Any]) -> list[Any] | None:
    """The store values the mapping's rules give ``parameter`` (translated), or None."""
    attributes = {k.casefold(): v for k, v in event.body.get("attributes", {}).items()}
    for rule in _mapping().rules_for(leaf):
        named = rule.parameter == parameter["id"] or (
            rule.parameter_name is not None
            and _fold(rule.parameter_name) == _fold(parameter["name"])
        )
        if not named or rule.attribute.casefold() not in attributes:
            continue
        values = []
        for value in _as_list(attributes[rule.attribute.casefold()]):
            translated = rule.translate(str(value)) if isinstance(value, str) else None
            values.append(translated if translated is not None else value)
        return values
    return None


def _override(event: SampleEvent, parameter_id: str) -> dict[str, Any] | None:
    for item in (event.body.get("allegro") or {}).get("parameters", []):
        if item["id"] == parameter_id:
            return dict(item)
    return None


def _dictionary_ok(parameter: dict[str, Any], values: list[Any]) -> bool:
    labels = {_fold(d["value"]) for d in parameter.get("dictionary") or []}
    ids = {d["id"] for d in parameter.get("dictionary") or []}
    return all(_fold(str(v)) in labels or str(v) in ids for v in values)


def _provided(event: SampleEvent, leaf: str) -> dict[str, list[Any]]:
    """Parameter id -> the values the product gives it (rules, fields, overrides)."""
    found: dict[str, list[Any]] = {}
    for parameter in _parameters()[leaf]:
        pid = parameter["id"]
        override = _override(event, pid)
        values = _rule_values(event, leaf, parameter)
        if override is not None:
            found[pid] = [override]
        elif values is not None:
            found[pid] = values
        elif pid == GTIN and event.body.get("ean"):
            found[pid] = [event.body["ean"]]
        elif pid == MPN and event.body.get("mpn"):
            found[pid] = [event.body["mpn"]]
        elif _fold(parameter["name"]).split(" ")[0] == "marka" and event.body.get("brand"):
            found[pid] = [event.body["brand"]]
        elif pid == CONDITION and _mapping().defaults.condition:
            found[pid] = [_mapping().defaults.condition]
    return found


def _dictionary_ids(parameter: dict[str, Any], values: list[Any]) -> set[str]:
    by_label = {_fold(d["value"]): d["id"] for d in parameter.get("dictionary") or []}
    return {by_label.get(_fold(str(v)), str(v)) for v in values}


def _required(parameter: dict[str, Any], provided: dict[str, list[Any]], leaf: str) -> bool:
    if not (parameter.get("required") or parameter.get("requiredForProduct")):
        return False
    condition = parameter.get("requiredIf")
    if not condition:
        return True
    definitions = {p["id"]: p for p in _parameters()[leaf]}
    for item in condition.get("parametersWithoutValue") or []:
        if item["id"] in provided:
            return False
    for item in condition.get("parametersWithValue") or []:
        given = provided.get(item["id"])
        if given is None:
            return False
        if not _dictionary_ids(definitions[item["id"]], given) & set(item["oneOfValueIds"]):
            return False
    return True


def _missing_or_wrong(event: SampleEvent, leaf: str) -> list[str]:
    """Required parameters the product leaves empty or fills with a value outside the
    dictionary (custom values allowed where the parameter takes them)."""
    provided = _provided(event, leaf)
    problems = []
    for parameter in _parameters()[leaf]:
        if not _required(parameter, provided, leaf):
            continue
        values = provided.get(parameter["id"])
        if values is None:
            problems.append(f"{parameter['id']} {parameter['name']}: missing")
        elif (
            parameter["type"] == "dictionary"
            and _override(event, parameter["id"]) is None
            and not (parameter.get("options") or {}).get("customValuesEnabled")
            and not _dictionary_ok(parameter, values)
        ):
            problems.append(f"{parameter['id']} {parameter['name']}: {values} not in dictionary")
    return problems


# --- the catalogue file -----------------------------------------------------------------------


def test_the_committed_catalogue_is_what_the_generator_makes() -> None:
    assert CATALOGUE_PATH.read_text(encoding="utf-8") == render(build_catalogue()), (
        "catalogue.json is stale: run python -m workers.sample.build"
    )


def test_the_catalogue_stays_small() -> None:
    assert CATALOGUE_PATH.stat().st_size < 1_000_000


def test_there_are_300_products_or_more_in_12_categories_or_more() -> None:
    products = [e.body for e in _upserts()]
    categories = Counter(str(p.get("category")) for p in products)
    mapped = {c for c in categories if _leaf(c) is not None}
    assert len(products) >= 300
    assert len(mapped) >= 12
    assert all(n >= 8 for c, n in categories.items() if c in mapped), categories


def test_skus_look_like_the_shops_and_each_has_one_upsert() -> None:
    skus = [e.sku for e in _upserts()]
    assert all(re.fullmatch(r"SHOP-\d{6}", sku) for sku in skus)
    assert len(set(skus)) == len(skus)
    follow_ups = {e.sku for e in _events() if e.wave > 1}
    assert follow_ups <= set(skus)


def test_labels_never_reach_the_events() -> None:
    for event in _events():
        assert not [k for k in event.body if k.startswith("_")], event.sku
        assert b'"_expect"' not in event.payload() and b'"_wave"' not in event.payload()


# --- what each event must become ---------------------------------------------------------------


def test_every_event_parses_or_is_refused_by_the_schema_as_labelled() -> None:
    for event in _events():
        if event.expect.stage == "ingest":
            with pytest.raises(EventError) as refused:
                parse_event(event.payload(), routing_key=event.routing_key)
            fields = {e.field for e in refused.value.field_errors}
            assert event.expect.field in fields, (event.sku, fields)
            assert refused.value.event_id == event.event_id  # the REJECTED status names it
        else:
            parsed = parse_event(event.payload(), routing_key=event.routing_key)
            assert parsed.event_id == event.event_id and not parsed.notes


def test_every_deliberate_defect_is_labelled_and_real() -> None:
    labelled = [e for e in _upserts() if e.expect.status == "REJECTED"]
    assert {e.expect.defect for e in labelled} == PIPELINE_DEFECTS | {
        "ingest_version_type",
        "ingest_amount_number",
        "ingest_unknown_field",
    }
    for event in labelled:
        body, defect = event.body, event.expect.defect
        assert event.expect.reason, event.sku
        words = str(body.get("name", "")).split()
        if defect == "name_too_short":
            assert len(body["name"]) < 12 and len(words) >= 3
        elif defect == "name_few_words":
            assert len(words) < 3 and len(body["name"]) >= 12
        elif defect == "name_long_word":
            assert max(len(w) for w in words) > 30
        elif defect == "price_too_low":
            assert Decimal(body["price"]["amount"]) < 1
        elif defect == "unmapped_category":
            assert _leaf(body["category"]) is None
        elif defect == "no_images":
            assert body["images"] == [] and not _by_gtin(body["ean"])
        elif defect == "ean_check_digit":
            assert not gtin_check_digit_ok(body["ean"])
        elif defect == "multi_product_gtin":
            found = _by_gtin(body["ean"])
            assert len({p["category"]["id"] for p in found}) == 1 < len(found)
            assert not (body.get("allegro") or {}).get("product_id")
        elif defect in ("value_not_in_dictionary", "missing_required_attribute"):
            leaf = _leaf(body["category"])
            assert leaf is not None
            problems = _missing_or_wrong(event, leaf)
            kind = "missing" if defect == "missing_required_attribute" else "not in dictionary"
            assert len(problems) == 1 and kind in problems[0], (event.sku, problems)


def test_between_5_and_8_percent_of_the_products_are_broken() -> None:
    broken = [e for e in _upserts() if e.expect.status == "REJECTED"]
    assert 0.05 <= len(broken) / len(_upserts()) <= 0.08


def test_every_store_category_of_the_valid_products_is_mapped_to_a_leaf() -> None:
    for event, leaf in _schema_valid_products():
        category = _categories().get(leaf)
        assert category is not None and category["leaf"], (event.body["category"], leaf)
        assert leaf in _parameters()


def test_every_valid_product_carries_its_categorys_required_parameters() -> None:
    for event, leaf in _schema_valid_products():
        if event.expect.defect in COMPLETE_DEFECTS or event.expect.defect is None:
            assert _missing_or_wrong(event, leaf) == [], event.sku


def test_valid_names_fit_allegros_rules() -> None:
    entity = {"&": 5, "<": 4, ">": 4, '"': 6, "'": 5}
    for event, _leaf_id in _schema_valid_products():
        if event.expect.defect and event.expect.defect.startswith("name_"):
            continue
        name = event.body["name"]
        assert 12 <= sum(entity.get(c, 1) for c in name) <= 75, name
        assert len(name.split()) >= 3 and max(len(w) for w in name.split()) <= 30, name


def test_prices_stock_and_images_are_shop_like() -> None:
    for event, _leaf_id in _schema_valid_products():
        body = event.body
        assert body["price"]["currency"] == "PLN"
        assert re.fullmatch(r"\d+\.\d{2}", body["price"]["amount"]), body["price"]
        assert body["stock"]["unit"] in ("UNIT", "PAIR", "SET")
        assert body["stock"]["available"] >= 1
        for url in body["images"]:
            assert url.startswith("https://img.sklep-przyklad.example/"), url
        if event.expect.defect != "no_images":
            assert 1 <= len(body["images"]) <= 16


# --- EANs and the catalogue -------------------------------------------------------------------


def test_gtin_check_digits_are_computed_like_gs1() -> None:
    assert gtin_with_check_digit("590123412345") == "5901234123457"
    assert gtin_with_check_digit("400638133393") == "4006381333931"
    assert gtin_with_check_digit("9780194035866"[:-1]) == "9780194035866"


def test_eans_have_valid_check_digits_except_the_labelled_ones() -> None:
    for event in _upserts():
        if event.expect.stage == "ingest":
            continue
        ok = gtin_check_digit_ok(event.body["ean"])
        assert ok == (event.expect.defect != "ean_check_digit"), event.sku


def test_some_products_share_an_ean_and_two_share_the_multi_product_gtin() -> None:
    by_ean: dict[str, list[SampleEvent]] = {}
    for event in _upserts():
        if event.expect.stage != "ingest":
            by_ean.setdefault(event.body["ean"], []).append(event)
    shared = {ean: group for ean, group in by_ean.items() if len(group) > 1}
    outside_catalogue = [ean for ean in shared if not _by_gtin(ean)]
    assert len(outside_catalogue) >= 2
    multi = [ean for ean in shared if len(_by_gtin(ean)) > 1]
    assert len(multi) == 1 and len(shared[multi[0]]) == 2
    chooser = [e for e in shared[multi[0]] if (e.body.get("allegro") or {}).get("product_id")]
    assert len(chooser) == 1 and chooser[0].expect.status == "PUBLISHED"
    assert chooser[0].body["allegro"]["product_id"] in {p["id"] for p in _by_gtin(multi[0])}


def test_linked_products_agree_with_the_catalogue_product() -> None:
    linked = 0
    for event, leaf in _schema_valid_products():
        found = _by_gtin(event.body["ean"])
        chosen = (event.body.get("allegro") or {}).get("product_id")
        if chosen:
            found = [p for p in found if p["id"] == chosen]
        if len(found) != 1:
            continue
        linked += 1
        product = found[0]
        assert product["category"]["id"] == leaf, event.sku
        theirs_mpn = _catalogue_values(product, MPN)
        if theirs_mpn and event.body.get("mpn"):
            assert event.body["mpn"] == theirs_mpn[0], event.sku
        for parameter in _parameters()[leaf]:
            pid = parameter["id"]
            ours = _provided(event, leaf).get(pid)
            theirs = next((p for p in product["parameters"] if p["id"] == pid), None)
            if ours is None or theirs is None or pid == CONDITION:
                continue
            if parameter["type"] == "dictionary":
                assert {_fold(str(v)) for v in ours} == {
                    _fold(v) for v in theirs.get("valuesLabels") or theirs["values"]
                }, (event.sku, parameter["name"], ours)
            elif theirs.get("rangeValue"):
                assert ours[0]["rangeValue"] == theirs["rangeValue"], (event.sku, pid)
            elif parameter["type"] in ("integer", "float"):
                assert [_number(v) for v in ours] == [_number(v) for v in theirs["values"]], (
                    event.sku,
                    parameter["name"],
                )
            else:
                assert [str(v).zfill(14) for v in ours] == [
                    str(v).zfill(14) for v in theirs["values"]
                ], (event.sku, parameter["name"])
    assert linked >= 40


def test_made_up_identifiers_never_collide_with_the_catalogue() -> None:
    catalogue_mpns = {v for p in _catalogue() for v in _catalogue_values(p, MPN)}
    for event in _upserts():
        body = event.body
        if event.expect.stage == "ingest" or _by_gtin(str(body.get("ean", ""))):
            continue
        assert body.get("mpn") not in catalogue_mpns, event.sku


# --- the mapping file ---------------------------------------------------------------------


def test_the_mapping_file_maps_only_to_leaves_and_names_real_parameters() -> None:
    mapping = _mapping()
    leaves = [*mapping.categories.exact.values(), *mapping.categories.prefix.values()]
    assert all(_categories()[leaf]["leaf"] for leaf in leaves)
    for rule in mapping.attributes:
        for leaf in rule.categories or leaves:
            names = {p["id"]: _fold(p["name"]) for p in _parameters()[leaf]}
            if rule.parameter is not None:
                assert rule.parameter in names, (rule.attribute, leaf)
            else:
                assert _fold(str(rule.parameter_name)) in names.values(), rule.attribute


# --- the follow-up waves ----------------------------------------------------------------------


def test_follow_ups_cover_every_kind_of_outcome() -> None:
    later = [e for e in _events() if e.wave > 1]
    kinds = Counter(e.routing_key for e in later)
    assert kinds["product.price"] >= 10 and kinds["product.stock"] >= 10
    assert kinds["product.deleted"] >= 3 and kinds["product.upserted"] >= 1
    stock_zero = {e.sku for e in later if e.body.get("stock", {}).get("available") == 0}
    restocked = {
        e.sku for e in later if e.wave == 3 and e.body.get("stock", {}).get("available", 0) > 0
    }
    assert stock_zero and stock_zero <= restocked
    assert {e.expect.status for e in later} >= {
        "UPDATED",
        "UNCHANGED",
        "ENDED",
        "SUPERSEDED",
        "PUBLISHED",
    }


def test_versions_grow_per_sku_except_the_one_arriving_late() -> None:
    newest: dict[str, int] = {}
    late = []
    for event in _events():
        if event.expect.stage == "ingest" or event.expect.duplicate_of:
            continue
        version = int(event.body["version"])
        if event.sku in newest and version <= newest[event.sku]:
            late.append(event)
        newest[event.sku] = max(version, newest.get(event.sku, 0))
    assert [e.expect.status for e in late] == ["SUPERSEDED"]


def test_exactly_one_event_is_delivered_twice_with_the_same_body() -> None:
    ids = Counter(e.event_id for e in _events())
    [(twice, count)] = [(i, n) for i, n in ids.items() if n > 1]
    first, second = [e for e in _events() if e.event_id == twice]
    assert count == 2 and first.body == second.body and first.wave < second.wave
    assert second.expect.duplicate_of == twice


def test_waves_are_published_in_order() -> None:
    grouped = waves()
    assert [len(w) for w in grouped] == [
        len([e for e in _events() if e.wave == n]) for n in (1, 2, 3)
    ]
    assert all(e.wave == n for n, wave in enumerate(grouped, start=1) for e in wave)


def test_expected_counts_add_up_to_the_distinct_events() -> None:
    counts = expected_counts()
    assert sum(counts.values()) == len({e.event_id for e in _events()})
    assert counts["PUBLISHED"] >= 300 and counts["REJECTED"] >= 20
    assert counts["SUPERSEDED"] == 1 and counts["UNCHANGED"] >= 2 and counts["ENDED"] >= 5


def test_the_pipelines_own_steps_agree_with_the_labels() -> None:
    """Categorize, enrich, build and validate locally (no Allegro): every product labelled
    valid passes, every pipeline defect is refused here, except what only Allegro sees."""
    from workers.domain.categorize import categorize
    from workers.domain.enrich import enrich
    from workers.domain.model import ProductState, Rejected
    from workers.domain.offer import build_offer
    from workers.domain.validate import validate_offer

    envelope = {"type", "event_id", "occurred_at", "account", "sku", "version"}
    for event in _upserts():
        if event.expect.stage == "ingest":
            continue
        product = {k: v for k, v in event.body.items() if k not in envelope}
        state = ProductState("default", event.sku, 1, event.event_id, product, complete=True)
        try:
            choice = categorize(product, _mapping())
            parameters = _parameters()[choice.category_id]
            enriched = enrich(state, choice, parameters, _by_gtin(product["ean"]), _mapping())
            body = build_offer(state, enriched, currency="PLN", defaults=_mapping().defaults)
            linked = enriched.product_id is not None
            errors = validate_offer(body, parameters, currency="PLN", catalogue_linked=linked)
            if errors:
                raise Rejected(errors)
            outcome = "PUBLISHED"
        except Rejected:
            outcome = "REJECTED"
        wanted = "PUBLISHED" if event.expect.stage == "allegro" else event.expect.status
        assert outcome == wanted, (event.sku, event.expect.defect)


# --- make run: the summary and the pieces around it ------------------------------------------


def _sample(
    sku: str, status: str, defect: str | None = None, wave: int = 1, **more: Any
) -> SampleEvent:
    from workers.sample.events import Expectation

    body = {"type": "product.price", "event_id": f"ev-{sku}-{wave}", "sku": sku, **more}
    return SampleEvent(body=body, wave=wave, expect=Expectation(status=status, defect=defect))


def _status(event: SampleEvent, status: str, code: str | None = None) -> dict[str, Any]:
    errors = [{"code": code, "message": "m", "userMessage": f"fix {event.sku}"}] if code else []
    return {"event_id": event.event_id, "sku": event.sku, "status": status, "errors": errors}


def test_summary_counts_statuses_ranks_reasons_and_names_surprises() -> None:
    events = [
        _sample("SHOP-000001", "PUBLISHED"),
        _sample("SHOP-000002", "PUBLISHED"),
        _sample("SHOP-000003", "REJECTED", "price_too_low"),
        _sample("SHOP-000004", "REJECTED", "price_too_low"),
        _sample("SHOP-000005", "REJECTED", "no_images"),
        _sample("SHOP-000001", "UPDATED", wave=2),
    ]
    statuses = {
        e.event_id: _status(e, s, c)
        for e, s, c in zip(
            events,
            ["PUBLISHED", "FAILED", "REJECTED", "REJECTED", "REJECTED", "UPDATED"],
            [None, "ServerError", "Price", "Price", "GallerySizeException", None],
            strict=True,
        )
    }
    text = runjob.summarize(statuses, events, elapsed_s=2.0)
    lines = text.splitlines()
    assert lines[0] == "6 of 6 events have a status:"
    assert "  PUBLISHED       1  (sample expects 2)" in lines
    assert "  UPDATED         1" in lines
    assert "  REJECTED        3" in lines
    assert "  FAILED          1  (sample expects 0)" in lines
    reasons = lines.index("top reasons (REJECTED / FAILED), with an example:")
    assert lines[reasons + 1] == "    2 x Price, e.g. SHOP-000003: fix SHOP-000003"
    assert "1 events ended otherwise than the sample expects:" in lines
    assert "  SHOP-000002 product.price (wave 1): FAILED, expected PUBLISHED" in lines
    assert lines[-1] == "elapsed 2.0 s, 3.0 events/s"


def test_summary_is_quiet_when_everything_went_as_expected() -> None:
    events = [_sample("SHOP-000001", "PUBLISHED"), _sample("SHOP-000001", "ENDED", wave=2)]
    statuses = {
        events[0].event_id: _status(events[0], "PUBLISHED"),
        events[1].event_id: _status(events[1], "ENDED"),
    }
    text = runjob.summarize(statuses, events, elapsed_s=0.5)
    assert "expects" not in text and "otherwise" not in text and "reasons" not in text
    assert text.splitlines()[-1] == "elapsed 0.5 s, 4.0 events/s"


def test_summary_shortens_long_reasons_to_the_width() -> None:
    event = _sample("SHOP-000009", "REJECTED")
    status = _status(event, "REJECTED", "X")
    status["errors"][0]["userMessage"] = "word " * 100
    text = runjob.summarize({event.event_id: status}, [event], elapsed_s=1.0, width=60)
    [line] = [x for x in text.splitlines() if "e.g." in x]
    assert len(line) == 60 and line.endswith("…")


def test_the_status_board_keeps_the_first_status_of_each_event() -> None:
    board = runjob.StatusBoard()
    board.add(json.dumps({"event_id": "a", "status": "PUBLISHED"}).encode())
    board.add(json.dumps({"event_id": "a", "status": "UPDATED"}).encode())
    board.add(json.dumps({"event_id": None, "status": "REJECTED"}).encode())
    board.add(b"not json")
    board.add(b"[1, 2]")
    assert board.first["a"]["status"] == "PUBLISHED"
    assert (board.repeats, board.unnamed, board.unreadable) == (1, 1, 2)
    assert board.counts() == Counter({"PUBLISHED": 1})


class _FakeChannel:
    """What publish_events and collect_statuses use of a pika channel."""

    def __init__(self, deliveries: list[Any] | None = None) -> None:
        self.published: list[dict[str, Any]] = []
        self.acked: list[int] = []
        self.cancelled = False
        self._deliveries = deliveries or []

    def basic_publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)

    def consume(self, queue: str, inactivity_timeout: float) -> Iterator[Any]:
        yield from self._deliveries
        while True:
            yield None, None, None

    def basic_ack(self, tag: int) -> None:
        self.acked.append(tag)

    def cancel(self) -> None:
        self.cancelled = True


def test_events_are_published_as_the_contract_says() -> None:
    events = waves()[1][:3]
    channel = _FakeChannel()
    seen: list[tuple[int, int]] = []
    count = runjob.publish_events(
        channel,
        "run-1.allegro.products",
        events,
        lambda n, total: seen.append((n, total)),
    )
    assert count == 3 and seen == [(1, 3), (2, 3), (3, 3)]
    for event, call in zip(events, channel.published, strict=True):
        properties = call["properties"]
        assert call["exchange"] == "run-1.allegro.products"
        assert call["routing_key"] == event.body["type"] and call["mandatory"] is True
        assert json.loads(call["body"]) == event.body
        assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
        assert properties.content_type == "application/json"
        assert properties.message_id == event.event_id


def test_collecting_stops_when_every_event_has_a_status() -> None:
    class Method:
        def __init__(self, tag: int) -> None:
            self.delivery_tag = tag

    deliveries = [
        (Method(1), None, json.dumps({"event_id": "a", "status": "PUBLISHED"}).encode()),
        (None, None, None),
        (Method(2), None, json.dumps({"event_id": "b", "status": "ENDED"}).encode()),
    ]
    channel = _FakeChannel(deliveries)
    board = runjob.StatusBoard()
    missing = runjob.collect_statuses(
        channel,
        "q",
        board,
        ["a", "b"],
        deadline=float("inf"),
    )
    assert missing == [] and channel.acked == [1, 2] and channel.cancelled


def test_collecting_gives_up_at_the_deadline_and_names_what_is_missing() -> None:
    channel = _FakeChannel()
    board = runjob.StatusBoard()
    missing = runjob.collect_statuses(
        channel,
        "q",
        board,
        ["a", "b"],
        deadline=0.0,
    )
    assert missing == ["a", "b"]


def _closed_local_url() -> str:
    port = runjob.free_port()  # nothing listens there once the probe socket is closed
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


def test_without_rabbitmq_and_nothing_to_start_it_says_how_to_get_one() -> None:
    with pytest.raises(runjob.RunError) as failed:
        runjob.ensure_rabbitmq(_closed_local_url(), which=lambda name: None, out=lambda s: None)
    assert failed.value.exit_code == runjob.EXIT_NO_RABBITMQ
    assert "no rabbitmq-server is installed" in str(failed.value)
    assert "apt-get install rabbitmq-server" in str(failed.value)
    assert "ALLEGRO_FEED_AMQP_URL" in str(failed.value)


def test_a_remote_rabbitmq_is_never_started_here() -> None:
    calls: list[str] = []

    def which(name: str) -> str:
        calls.append(name)
        return "/usr/sbin/" + name

    with pytest.raises(runjob.RunError) as failed:
        runjob.ensure_rabbitmq(
            "amqp://guest:guest@192.0.2.1:5672/%2F",  # TEST-NET-1: nothing answers
            which=which,
            out=lambda s: None,
        )
    assert calls == [] and "nothing answers at 192.0.2.1:5672" in str(failed.value)


def test_a_failing_start_command_is_reported_with_its_exit_code() -> None:
    lines: list[str] = []
    with pytest.raises(runjob.RunError) as failed:
        runjob.ensure_rabbitmq(
            _closed_local_url(),
            which=lambda name: "/usr/bin/false",
            start_command=("false",),
            out=lines.append,
        )
    assert "failed (exit 1" in str(failed.value) and "sudo systemctl" in str(failed.value)
    assert lines and lines[0].startswith("RabbitMQ is not running at 127.0.0.1:")


def test_a_started_rabbitmq_that_never_answers_times_out() -> None:
    with pytest.raises(runjob.RunError) as failed:
        runjob.ensure_rabbitmq(
            _closed_local_url(),
            which=lambda name: "/usr/bin/true",
            start_command=("true",),
            out=lambda s: None,
            timeout_s=0.5,
        )
    assert "nothing answered" in str(failed.value)


def test_the_workers_get_the_runs_settings_and_nothing_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.settings import Settings

    monkeypatch.setenv("ALLEGRO_FEED_METRICS_PORT", "9100")
    settings = Settings(
        api_url="http://127.0.0.1:1234",
        auth_url="http://127.0.0.1:1234",
        database_url="sqlite:///x/store.db",
        mapping_file=MAPPING_FILE,
        name_prefix="run-7.",
    )
    env = runjob._child_env(settings, verbose=False)
    assert env["ALLEGRO_FEED_NAME_PREFIX"] == "run-7."
    assert env["ALLEGRO_FEED_MAPPING_FILE"] == str(MAPPING_FILE)
    assert env["ALLEGRO_FEED_API_URL"] == "http://127.0.0.1:1234"
    assert env["ALLEGRO_FEED_LOG_LEVEL"] == "WARNING"
    assert "ALLEGRO_FEED_METRICS_PORT" not in env


def test_progress_redraws_one_line_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = runjob.Progress(stream)
    progress.update("a", force=True)
    progress.update("b", force=True)
    progress.done("c")
    progress.line("next")
    assert stream.getvalue() == "\r\x1b[Ka\r\x1b[Kb\r\x1b[Kc\nnext\n"
    plain = io.StringIO()
    quiet = runjob.Progress(plain)
    quiet.update("1", force=True)
    quiet.update("2")  # within PROGRESS_EVERY_S: dropped
    quiet.done("3")
    assert plain.getvalue() == "1\n3\n"
