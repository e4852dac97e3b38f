"""The change hash ignores how a task dict was built and sees every value change."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gateway.sync.hashing import canonical_json, state_hash

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
tasks = st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=8)


def reorder(value: Any) -> Any:
    """The same JSON value with every dict built in reverse key order."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(item) for item in value]
    return value


@given(tasks)
def test_key_order_does_not_change_the_hash(task: dict[str, Any]) -> None:
    assert state_hash(reorder(task)) == state_hash(task)
    assert state_hash(dict(sorted(task.items()))) == state_hash(task)


@given(tasks, st.data(), json_values)
def test_any_value_change_changes_the_hash(
    task: dict[str, Any], data: st.DataObject, new_value: Any
) -> None:
    key = data.draw(st.sampled_from(sorted(task)))
    assume(canonical_json(new_value) != canonical_json(task[key]))
    changed = {**task, key: new_value}
    assert state_hash(changed) != state_hash(task)
    assert state_hash({"outer": {"inner": changed}}) != state_hash({"outer": {"inner": task}})


@given(tasks, st.text(max_size=8))
def test_adding_a_key_changes_the_hash(task: dict[str, Any], key: str) -> None:
    assume(key not in task)
    assert state_hash({**task, key: None}) != state_hash(task)


def test_type_changes_change_the_hash() -> None:
    variants = [1, "1", 1.0, True, None, [1], {"v": 1}, "", 0, False, "true"]
    hashes = {state_hash({"id": 5, "nested": {"value": v}}) for v in variants}
    assert len(hashes) == len(variants)


def test_canonical_form() -> None:
    task = {"title": "Überprüfung", "id": 1, "a": {"z": [1, 2], "b": None}}
    expected = '{"a":{"b":null,"z":[1,2]},"id":1,"title":"Überprüfung"}'
    assert canonical_json(task) == expected.encode("utf-8")
    assert len(state_hash(task)) == 64


def test_lone_surrogate_does_not_crash() -> None:
    assert state_hash({"title": "\ud800"}) != state_hash({"title": ""})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_values_json_cannot_carry_are_refused_not_hashed(value: float) -> None:
    # NaN and infinities are not JSON: hashing them as Python's tokens would make a
    # "canonical" form no other JSON implementation agrees with.
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"hours": value})
