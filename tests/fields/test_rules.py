"""Pure validation of custom field values, table-driven. No I/O."""

from __future__ import annotations

from typing import Any

import pytest

from opora.errors import FieldRequired, InvalidInput
from opora.fields.rules import FieldDef, coerce, key_missing, validate_values

TEXT = FieldDef("order_id", "text", required=False, label="Order")
NUMBER = FieldDef("amount", "number", required=False)
DATE = FieldDef("since", "date", required=False)
CHECKBOX = FieldDef("agreed", "checkbox", required=False)
SELECT = FieldDef("platform", "select", required=False, options=("ios", "android", "web"))
MULTI = FieldDef("topics", "multiselect", required=False, options=("login", "payment", "photo"))


class TestCoerce:
    @pytest.mark.parametrize(
        ("defn", "value", "stored"),
        [
            (TEXT, "A-123", "A-123"),
            (TEXT, "", ""),
            (NUMBER, 42, 42),
            (NUMBER, 2.5, 2.5),
            (NUMBER, 0, 0),
            (DATE, "2025-03-08", "2025-03-08"),
            (CHECKBOX, True, True),
            (CHECKBOX, False, False),
            (SELECT, "android", "android"),
            (MULTI, ["photo", "login", "photo"], ["login", "photo"]),  # options order, once
            (MULTI, [], []),
            (TEXT, None, None),
            (SELECT, None, None),
        ],
    )
    def test_keeps_a_good_value_in_its_stored_form(
        self, defn: FieldDef, value: Any, stored: Any
    ) -> None:
        assert coerce(defn, value, f"custom_fields.{defn.key}") == stored

    @pytest.mark.parametrize(
        ("defn", "value"),
        [
            (TEXT, 5),
            (TEXT, ["a"]),
            (TEXT, "x" * 10_001),
            (NUMBER, "42"),
            (NUMBER, True),  # a bool is an int in Python, but not a number here
            (NUMBER, float("nan")),
            (NUMBER, float("inf")),
            (DATE, "08.03.2025"),
            (DATE, "2025-02-30"),
            (DATE, 20250308),
            (CHECKBOX, "yes"),
            (CHECKBOX, 1),
            (SELECT, "windows"),
            (SELECT, "IOS"),
            (SELECT, ["ios"]),
            (MULTI, "login"),
            (MULTI, ["login", "games"]),
            (FieldDef("odd", "colour", required=False), "red"),
        ],
    )
    def test_refuses_a_bad_value_naming_the_field(self, defn: FieldDef, value: Any) -> None:
        with pytest.raises(InvalidInput) as err:
            coerce(defn, value, f"custom_fields.{defn.key}")
        assert err.value.field == f"custom_fields.{defn.key}"
        assert err.value.status_code == 422


class TestValidateValues:
    def test_merges_new_values_over_existing_ones(self) -> None:
        result = validate_values(
            [TEXT, NUMBER], {"amount": 10}, existing={"order_id": "A-1", "amount": 3}
        )
        assert result == {"order_id": "A-1", "amount": 10}

    def test_does_not_change_the_existing_dict(self) -> None:
        existing = {"order_id": "A-1"}
        validate_values([TEXT], {"order_id": "B-2"}, existing=existing)
        assert existing == {"order_id": "A-1"}

    @pytest.mark.parametrize("empty", [None, "", []])
    def test_an_empty_value_removes_the_key(self, empty: Any) -> None:
        defs = [TEXT, MULTI]
        key = "topics" if empty == [] else "order_id"
        existing = {"order_id": "A", "topics": ["login"]}
        result = validate_values(defs, {key: empty}, existing=existing)
        assert key not in result

    def test_an_unknown_key_is_refused_with_its_path(self) -> None:
        with pytest.raises(InvalidInput) as err:
            validate_values([TEXT], {"colour": "red"})
        assert err.value.field == "custom_fields.colour"

    @pytest.mark.parametrize(
        ("defn", "values"),
        [
            (FieldDef("order_id", "text", required=True), {}),
            (FieldDef("order_id", "text", required=True), {"order_id": ""}),
            (FieldDef("amount", "number", required=True), {"amount": None}),
            (FieldDef("topics", "multiselect", True, ("login",)), {"topics": []}),
            (FieldDef("agreed", "checkbox", required=True), {"agreed": False}),
            (FieldDef("agreed", "checkbox", required=True), {}),
        ],
    )
    def test_a_missing_required_field_is_a_field_required_error(
        self, defn: FieldDef, values: dict[str, Any]
    ) -> None:
        with pytest.raises(FieldRequired) as err:
            validate_values([defn], values)
        assert err.value.field == f"custom_fields.{defn.key}"
        assert err.value.code == "field_required"
        assert err.value.status_code == 422

    def test_a_required_number_may_be_zero(self) -> None:
        defn = FieldDef("amount", "number", required=True)
        assert validate_values([defn], {"amount": 0}) == {"amount": 0}

    def test_a_required_value_already_stored_satisfies_the_requirement(self) -> None:
        defn = FieldDef("order_id", "text", required=True)
        assert validate_values([defn], {}, existing={"order_id": "A-1"}) == {"order_id": "A-1"}

    def test_required_fields_are_not_checked_when_not_enforced(self) -> None:
        defn = FieldDef("order_id", "text", required=True)
        assert validate_values([defn], {}, enforce_required=False) == {}

    def test_the_label_names_a_missing_field_in_the_message(self) -> None:
        defn = FieldDef("order_id", "text", required=True, label="Order number")
        with pytest.raises(FieldRequired, match="Order number is required"):
            validate_values([defn], {})

    def test_the_prefix_names_the_path(self) -> None:
        with pytest.raises(InvalidInput) as err:
            validate_values([NUMBER], {"amount": "x"}, prefix="body.custom_fields")
        assert err.value.field == "body.custom_fields.amount"


class TestKeyMissing:
    @pytest.mark.parametrize(
        ("values", "missing"),
        [({}, True), ({"k": None}, True), ({"k": ""}, True), ({"k": []}, True),
         ({"k": 0}, False), ({"k": False}, False), ({"k": "x"}, False)],
    )  # fmt: skip
    def test_only_absent_none_and_empty_values_are_missing(
        self, values: dict[str, Any], missing: bool
    ) -> None:
        assert key_missing(values, "k") is missing
