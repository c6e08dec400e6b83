"""enrich: catalogue link, parameters from every source, problems, name, images, description."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from schemas import MappingFile, parse_mapping
from tests.unit.domain import catalogue, category_parameters
from workers.domain.enrich import enrich, offer_name
from workers.domain.model import CategoryChoice, Enriched, ProductState, Rejected
from workers.domain.rules_text import name_length

PHONES = CategoryChoice("165", "exact", "Elektronika > Telefony > Smartfony")
HEADPHONES = CategoryChoice("85166", "prefix", "Elektronika > Audio > Słuchawki")
MOWERS = CategoryChoice("257931", "override", None)

MAPPING = parse_mapping(
    """\
version: 1
defaults: {condition: "11323_1"}
attributes:
  - {attribute: kolor, parameter: "127448", categories: ["165"], values: {grafit: szary}}
  - {attribute: kolor, parameter_name: Kolor dominujący, categories: ["85166"]}
  - {attribute: waga_g, parameter: "17448", scale: 0.001}
  - {attribute: pamiec, parameter_name: "Pamięć wbudowana"}
  - {attribute: model, parameter: "246709", categories: ["165"]}
  - {attribute: zakres_mm, parameter: "211966", unit: mm}
  - {attribute: stan, parameter: "11323", values: {outlet: Powystawowy}}
  - {attribute: nieistniejacy, parameter: "999999"}
"""
)


def phone(**changes: Any) -> dict[str, Any]:
    product: dict[str, Any] = {
        "name": "Apple iPhone 15 128 GB czarny",
        "description": "Smartfon Apple.\n\nBateria na cały dzień.",
        "category": "Elektronika > Telefony > Smartfony",
        "ean": "0194253215431",
        "mpn": "MTP03PX/A",
        "brand": "Apple",
        "price": {"amount": "3999.00", "currency": "PLN"},
        "stock": {"available": 5, "unit": "UNIT"},
        "images": ["https://shop.example/img/1.jpg", "https://shop.example/img/2.jpg"],
        "attributes": {
            "kolor": "Czarny",
            "waga_g": 171,
            "pamiec": "128 GB",
            "model": "iPhone 15",
            "Pamięć RAM": "6",
            "Przekątna ekranu": '6,1"',
            "Dual SIM": True,
            "Typ drugiej karty SIM": "esim",
        },
    }
    product.update(changes)
    return product


def state(product: dict[str, Any]) -> ProductState:
    return ProductState("default", "SKU-1", 1, "e-1", product, complete=True)


def run(
    product: dict[str, Any],
    choice: CategoryChoice = PHONES,
    *,
    found: list[dict[str, Any]] | None = None,
    mapping: MappingFile | None = MAPPING,
    parameters: list[dict[str, Any]] | None = None,
) -> Enriched:
    definitions = parameters if parameters is not None else category_parameters(choice.category_id)
    return enrich(state(product), choice, definitions, found or [], mapping)


def rejected(*args: Any, **kwargs: Any) -> list[Any]:
    with pytest.raises(Rejected) as caught:
        run(*args, **kwargs)
    return caught.value.errors


def by_id(parameters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in parameters}


# --- a new product --------------------------------------------------------------------------


def test_a_new_phone_gets_every_parameter_split_and_ordered() -> None:
    result = run(phone())
    assert result.product_id is None
    assert result.category_id == "165"
    assert result.ean == "0194253215431"
    assert result.product_parameters == [
        {"id": "225693", "values": ["0194253215431"]},
        {"id": "224017", "values": ["MTP03PX/A"]},
        {"id": "246705", "valuesIds": ["246705_598617"]},
        {"id": "17448", "values": ["0.171"]},
        {"id": "246709", "valuesIds": ["246709_700101"]},
        {"id": "202869", "values": ["128"]},
        {"id": "202865", "values": ["6"]},
        {"id": "202749", "values": ["6.1"]},
        {"id": "202829", "valuesIds": ["202829_1"]},
        {"id": "202833", "valuesIds": ["202833_2"]},
        {"id": "127448", "valuesIds": ["127448_1"]},
    ]
    assert result.offer_parameters == [{"id": "11323", "valuesIds": ["11323_1"]}]
    assert result.name == "Apple iPhone 15 128 GB czarny"
    assert result.images == phone()["images"]
    assert result.description == {
        "sections": [
            {
                "items": [
                    {
                        "type": "TEXT",
                        "content": "<p>Smartfon Apple.</p><p>Bateria na cały dzień.</p>",
                    }
                ]
            }
        ]
    }
    assert result.notes == []


def test_the_result_survives_a_json_round_trip() -> None:
    result = run(phone())
    data = json.loads(json.dumps(dataclasses.asdict(result)))
    assert Enriched(**data) == result


def test_rule_translations_and_accents() -> None:
    grafit = run(phone(attributes={"kolor": "GRAFIT"}))
    assert by_id(grafit.product_parameters)["127448"]["valuesIds"] == ["127448_3"]
    rozowy = run(phone(attributes={"kolor": "rozowy"}))
    assert by_id(rozowy.product_parameters)["127448"]["valuesIds"] == ["127448_8"]
    zloty = run(phone(attributes={"KOLOR": "Złoty"}))  # attribute names: any case
    assert by_id(zloty.product_parameters)["127448"]["valuesIds"] == ["127448_9"]


def test_a_brand_outside_the_dictionary_is_a_custom_value() -> None:
    result = run(phone(brand="Nokia", attributes={}))
    assert by_id(result.product_parameters)["246705"] == {
        "id": "246705",
        "valuesIds": ["246705_1"],
        "values": ["Nokia"],
    }
    assert any('"Nokia" is not in the dictionary' in note for note in result.notes)


def test_a_dependent_dictionary_follows_the_brand() -> None:
    result = run(phone(brand="Samsung", attributes={"model": "Inny"}))
    assert by_id(result.product_parameters)["246709"]["valuesIds"] == ["246709_1"]


def test_a_range_from_a_store_attribute_with_units() -> None:
    mower = {
        "name": "Kosiarka elektryczna 1600 W 38 cm",
        "ean": "5901234123457",
        "brand": "Bosch",
        "attributes": {"zakres_mm": "25-75", "Rodzaj napędu": "Elektryczny"},
    }
    parameters = by_id(run(mower, MOWERS).product_parameters)
    assert parameters["211966"] == {"id": "211966", "rangeValue": {"from": "2.5", "to": "7.5"}}
    assert parameters["211962"] == {"id": "211962", "valuesIds": ["211962_1"]}


def test_without_a_mapping_attributes_named_like_parameters_still_map() -> None:
    result = run(phone(attributes={"Kolor": "biały", "kolor": "czarny"}), mapping=None)
    assert by_id(result.product_parameters)["127448"]["valuesIds"] == ["127448_2"]
    assert "11323" not in by_id(result.offer_parameters)
    assert any('"kolor" = "czarny" not used' in note for note in result.notes)
    assert any("defaults.condition" in note for note in result.notes)


def test_attributes_that_match_nothing_are_notes() -> None:
    result = run(phone(attributes={"rozmiar_pudelka": "duże", "nieistniejacy": "x"}))
    assert (
        'attribute "rozmiar_pudelka" matches no parameter of category 165; add a rule to the '
        "mapping file's attributes if it should be sent"
    ) in result.notes
    assert (
        'attribute "nieistniejacy": the mapping rule names parameter 999999, which category 165 '
        "does not have"
    ) in result.notes


def test_a_rule_beats_the_brand_field_and_the_loser_is_noted() -> None:
    mapping = parse_mapping(
        'version: 1\nattributes: [{attribute: producent, parameter: "246705"}]\n'
    )
    result = run(phone(attributes={"producent": "Samsung"}), mapping=mapping)
    assert by_id(result.product_parameters)["246705"]["valuesIds"] == ["246705_598621"]
    assert 'brand "Apple" not used: attribute "producent" = "Samsung" sets parameter ' in " ".join(
        result.notes
    )


def test_a_failing_source_falls_back_to_the_next_one() -> None:
    mapping = parse_mapping('version: 1\nattributes: [{attribute: mpn2, parameter: "224017"}]\n')
    result = run(phone(attributes={"mpn2": "X" * 40}), mapping=mapping)
    assert by_id(result.product_parameters)["224017"]["values"] == ["MTP03PX/A"]
    assert any("has 40 characters" in note for note in result.notes)


# --- the event's own parameters -----------------------------------------------------------


def test_allegro_parameters_replace_mapped_ones_and_add_new_ones() -> None:
    overrides = {
        "parameters": [
            {"id": "127448", "valuesIds": ["127448_5"]},
            {"id": "11323", "valuesIds": ["11323_2"]},
            {"id": "229205", "valuesIds": ["229205_1"]},
        ]
    }
    result = run(phone(allegro=overrides))
    assert by_id(result.product_parameters)["127448"] == {
        "id": "127448",
        "valuesIds": ["127448_5"],
    }
    assert result.offer_parameters == [
        {"id": "11323", "valuesIds": ["11323_2"]},
        {"id": "229205", "valuesIds": ["229205_1"]},
    ]
    assert 'attribute "kolor" = "Czarny" not used: allegro.parameters sets parameter 127448' in (
        result.notes
    )


def test_allegro_parameters_in_python_field_names_are_accepted() -> None:
    overrides = {"parameters": [{"id": "211966", "range_value": {"from_": "2", "to": "6"}}]}
    mower = {"name": "Kosiarka", "ean": "5901234123457", "allegro": overrides}
    result = run(mower, MOWERS)
    assert by_id(result.product_parameters)["211966"]["rangeValue"] == {"from": "2", "to": "6"}


def test_an_allegro_parameter_the_category_lacks_is_rejected() -> None:
    (error,) = rejected(phone(allegro={"parameters": [{"id": "1", "values": ["x"]}]}))
    assert error.code == "ParameterIdNotFoundException"
    assert error.path == "allegro.parameters[0]"
    assert "Parameter 1 sent in allegro.parameters does not exist in category 165" in error.message


# --- condition --------------------------------------------------------------------------------


def test_the_condition_comes_from_the_attribute_before_the_default() -> None:
    result = run(phone(attributes={"stan": "outlet"}))
    assert result.offer_parameters == [{"id": "11323", "valuesIds": ["11323_238058"]}]


def test_the_default_condition_may_be_a_label() -> None:
    mapping = parse_mapping("version: 1\ndefaults: {condition: używany}\n")
    assert run(phone(), mapping=mapping).offer_parameters == [
        {"id": "11323", "valuesIds": ["11323_2"]}
    ]


def test_a_default_condition_not_in_the_dictionary_is_rejected() -> None:
    mapping = parse_mapping("version: 1\ndefaults: {condition: 11323_9}\n")
    (error,) = rejected(phone(), mapping=mapping)
    assert error.path == "defaults.condition"
    assert 'The mapping file\'s defaults.condition "11323_9" is not a value' in error.message


# --- problems -------------------------------------------------------------------------------


def test_a_required_parameter_that_cannot_be_converted_is_rejected_allegro_style() -> None:
    (error,) = rejected(phone(attributes={"kolor": "fuksja"}))
    assert error.code == "DictionaryParameterValueNotFound"
    assert error.path == "attributes.kolor"
    assert error.message == (
        'Attribute "kolor" = "fuksja" cannot be sent as parameter "Kolor" (127448) of category '
        '165: "fuksja" is not in its dictionary (allowed: czarny, biały, szary, srebrny, '
        "niebieski, czerwony, zielony, różowy, złoty, wielokolorowy). Send one of the allowed "
        'labels, or translate the store value in the mapping file (attributes: values: {"fuksja"'
        ': "<allowed label>"}).'
    )
    assert error.user_message == error.message


def test_an_optional_parameter_that_cannot_be_converted_is_skipped_with_a_note() -> None:
    result = run(phone(attributes={"Pamięć RAM": "dużo"}))
    assert "202865" not in by_id(result.product_parameters)
    assert (
        'Attribute "Pamięć RAM" = "dużo" cannot be sent as parameter "Pamięć RAM" (202865) of '
        'category 165: "dużo" is not a number. Send a number, optionally with its unit ("1,5 kg"'
        ', "250 g"). (not sent)'
    ) in result.notes


def test_required_if_decides_whether_a_bad_value_rejects() -> None:
    # Kod producenta (224017) is required only without an EAN.
    with_ean = run(phone(mpn="M" * 40))
    assert "224017" not in by_id(with_ean.product_parameters)
    errors = rejected(phone(ean=None, mpn="M" * 40))
    assert [e.path for e in errors] == ["mpn"]
    assert errors[0].code == "ConstraintViolationException.StringLength"


def test_every_problem_is_reported_at_once() -> None:
    product = phone(
        brand=None,
        attributes={"kolor": "fuksja", "pamiec": "ogromna", "Dual SIM": "może"},
        allegro={"parameters": [{"id": "42", "values": ["x"]}]},
    )
    errors = rejected(product)
    assert [e.path for e in errors] == [
        "allegro.parameters[0]",
        "attributes.kolor",
        "attributes.pamiec",
        "attributes.Dual SIM",
    ]


def test_a_brand_the_category_cannot_take_is_rejected_with_the_allowed_labels() -> None:
    parameters = category_parameters("85166")
    for definition in parameters:
        if definition["id"] == "248811":  # Marka: no custom values in this copy
            definition["options"]["customValuesEnabled"] = False
    product = {"name": "Słuchawki X", "ean": "5901234123457", "brand": "Nieznana"}
    (error,) = rejected(product, HEADPHONES, parameters=parameters, mapping=None)
    assert error.path == "brand"
    assert error.message.startswith(
        'Brand "Nieznana" cannot be sent as parameter "Marka" (248811) of category 85166: '
        '"Nieznana" is not in its dictionary (allowed: '
    )


# --- the catalogue ---------------------------------------------------------------------------


def test_one_catalogue_match_is_linked_and_its_parameters_left_to_it() -> None:
    found = catalogue(ean="0194253215431")
    assert len(found) == 1
    result = run(phone(attributes={"kolor": "grafit", "waga_g": 171}), found=found)
    assert result.product_id == found[0]["id"]
    catalogue_ids = {p["id"] for p in found[0]["parameters"]}
    assert not catalogue_ids & {p["id"] for p in result.product_parameters}
    assert (
        'parameter "Kolor" (127448) is taken from catalogue product '
        f"{found[0]['id']} (czarny); the store's value differs and is not sent"
    ) in result.notes
    assert result.offer_parameters == [{"id": "11323", "valuesIds": ["11323_1"]}]


def test_the_product_id_override_wins_over_the_catalogue() -> None:
    found = catalogue(ean="0194253215431")
    result = run(phone(allegro={"product_id": "chosen-uuid"}), found=found)
    assert result.product_id == "chosen-uuid"
    assert len(result.product_parameters) == 11  # not known to us: everything is sent


def test_several_matches_in_the_chosen_category_are_not_linked() -> None:
    found = catalogue(ean="0194253317807")
    assert len(found) == 2 and {f["category"]["id"] for f in found} == {"85166"}
    product = {"name": "Apple AirPods Pro 2", "ean": "0194253317807", "brand": "Apple"}
    result = run(product, HEADPHONES, found=found)
    assert result.product_id is None
    ids = ", ".join(f["id"] for f in found)
    assert (
        f"EAN 0194253317807 matches 2 catalogue products ({ids}), 2 of them in category 85166: "
        "not linked (Allegro would answer MultipleProductsFoundException); send "
        "allegro.product_id to choose one"
    ) in result.notes


def test_of_several_matches_the_one_in_the_chosen_category_is_linked() -> None:
    found = catalogue(ean="0194253317807")
    found[1]["category"]["id"] = "85167"
    product = {"name": "Apple AirPods Pro 2", "ean": "0194253317807", "brand": "Apple"}
    assert run(product, HEADPHONES, found=found).product_id == found[0]["id"]


def test_catalogue_products_with_another_gtin_are_ignored() -> None:
    found = catalogue(ean="0194253317807")
    result = run(phone(), found=found)
    assert result.product_id is None
    assert sum("ignored: its identifiers are not EAN 0194253215431" in n for n in result.notes) == 2


def test_an_mpn_search_links_by_mpn() -> None:
    found = catalogue(ean="0194253215431")
    result = run(phone(ean=None), found=found)
    assert result.product_id == found[0]["id"]
    other = run(phone(ean=None, mpn="OTHER-1"), found=found)
    assert other.product_id is None


# --- name and images ---------------------------------------------------------------------------


def test_names_keep_their_words_and_length_for_validation_to_judge() -> None:
    assert offer_name("  Czajnik   elektryczny  ") == ("Czajnik elektryczny", [])
    long = "Zestaw garnków ze stali nierdzewnej 12 elementów indukcja gaz & szkło pokrywki"
    name, notes = offer_name(long)
    assert name == long  # not shortened behind the seller's back: validation rejects it
    assert name_length(name) == 82 > 75
    assert notes == []
    assert name_length('&<>"') == 19


def test_images_are_deduplicated_and_all_kept_for_validation_to_judge() -> None:
    urls = [f"https://shop.example/img/{n}.jpg" for n in range(20)]
    result = run(phone(images=[urls[0], *urls]))
    assert result.images == urls
    assert not any("images given" in note for note in result.notes)


def test_an_html_description_is_normalised() -> None:
    result = run(phone(description="<DIV><h1><b>iPhone</b></h1>Tekst<script>x</script></DIV>"))
    assert result.description == {
        "sections": [{"items": [{"type": "TEXT", "content": "<h1>iPhone</h1><p>Tekst</p>"}]}]
    }
    assert run(phone(description="")).description is None
