"""The sandbox, as strict as Allegro: a dictionary value id given twice, and values and
valuesIds of different counts, are refused (spec createProductOffers 422 table:
DictionaryParameterValueNotUnique, DictionaryParameterIdsAndValuesNotMatch)."""

from __future__ import annotations

from tests.sandbox.test_validation import check, codes, offer_for_product, only
from tests.sandbox.test_validation_parameters import _phone_with


def test_a_repeated_value_id_is_not_unique() -> None:
    body = offer_for_product(parameters=[{"id": "11323", "valuesIds": ["11323_1", "11323_1"]}])
    item = only(check(body), "DictionaryParameterValueNotUnique")
    assert item["metadata"] == {"parameterName": "Stan", "requestedDictionaryValue": "11323_1"}


def test_two_custom_texts_on_one_ambiguous_id_do_not_match() -> None:
    custom = {
        "name": "Marka telefonu",
        "valuesIds": ["246705_1"],
        "values": ["Fairphone", "Shiftphone"],
    }
    result = check(_phone_with({"Marka telefonu": custom}))
    assert "DictionaryParameterIdsAndValuesNotMatch" in {c for c, _ in codes(result)}


def test_fewer_values_than_ids_do_not_match() -> None:
    both = {"id": "202685", "valuesIds": ["202685_212925", "202685_212927"], "values": ["2G"]}
    result = check(_phone_with({"202685": both}))
    assert "DictionaryParameterIdsAndValuesNotMatch" in {c for c, _ in codes(result)}
