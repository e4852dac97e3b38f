"""The pure signature check: Atlassian's vector, rotation, and every failure reason."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.api.signature import (
    SignatureCheck,
    SignatureFailure,
    header_failure,
    sign,
    verify_signature,
)

VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_BODY = b"Hello World!"
VECTOR_HEADER = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
SECRET = "current-secret-0123456789"
PREVIOUS = "previous-secret-0123456789"
BODY = b'{"webhookEvent":"jira:issue_updated"}'


def test_atlassian_published_vector() -> None:
    assert sign(body=VECTOR_BODY, secret=VECTOR_SECRET) == VECTOR_HEADER
    check = verify_signature(body=VECTOR_BODY, header=VECTOR_HEADER, secrets=[VECTOR_SECRET])
    assert check == SignatureCheck(failure=None, secret_index=0)
    assert check.valid


def test_previous_secret_accepted_during_rotation() -> None:
    header = sign(body=BODY, secret=PREVIOUS)
    check = verify_signature(body=BODY, header=header, secrets=[SECRET, PREVIOUS])
    assert check.valid and check.secret_index == 1


def test_secret_index_counts_an_unset_current_secret() -> None:
    header = sign(body=BODY, secret=PREVIOUS)
    check = verify_signature(body=BODY, header=header, secrets=["", PREVIOUS])
    assert check.valid and check.secret_index == 1


def test_uppercase_hex_and_surrounding_space_are_tolerated() -> None:
    method, value = sign(body=BODY, secret=SECRET).split("=")
    header = f" {method.upper()}={value.upper()} "
    assert verify_signature(body=BODY, header=header, secrets=[SECRET]).valid


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]], ids=["none", "empty", "both-empty"])
def test_no_secret_configured_rejects_everything(secrets: list[str]) -> None:
    header = sign(body=BODY, secret=SECRET)
    check = verify_signature(body=BODY, header=header, secrets=secrets)
    assert check.failure is SignatureFailure.NO_SECRET_CONFIGURED
    assert not check.valid


@pytest.mark.parametrize("header", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_missing(header: str | None) -> None:
    check = verify_signature(body=BODY, header=header, secrets=[SECRET])
    assert check.failure is SignatureFailure.MISSING


@pytest.mark.parametrize(
    "header",
    [
        "a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
        "sha256",
        "sha256=",
        "=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
        "sha256=zz771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
        "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c",
        "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c900",
        "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9,sha256=00",
        "sha 256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
        "sha256=٤771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9",
    ],
    ids=[
        "no-method",
        "no-equals",
        "empty-value",
        "empty-method",
        "non-hex",
        "short",
        "long",
        "two-values",
        "space-in-method",
        "non-ascii-digit",
    ],
)
def test_malformed(header: str) -> None:
    check = verify_signature(body=BODY, header=header, secrets=[SECRET])
    assert check.failure is SignatureFailure.MALFORMED


@pytest.mark.parametrize(
    "header",
    ["sha1=0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33", "sha512=" + "ab" * 64, "md5=" + "0" * 32],
    ids=["sha1", "sha512", "md5"],
)
def test_unsupported_method(header: str) -> None:
    check = verify_signature(body=BODY, header=header, secrets=[SECRET])
    assert check.failure is SignatureFailure.UNSUPPORTED_METHOD


def test_wrong_secret_is_a_mismatch() -> None:
    header = sign(body=BODY, secret="some-other-secret-0123456789")
    check = verify_signature(body=BODY, header=header, secrets=[SECRET, PREVIOUS])
    assert check.failure is SignatureFailure.MISMATCH


def test_signature_of_another_body_is_a_mismatch() -> None:
    header = sign(body=BODY + b" ", secret=SECRET)
    check = verify_signature(body=BODY, header=header, secrets=[SECRET])
    assert check.failure is SignatureFailure.MISMATCH


def test_arguments_are_keyword_only() -> None:
    parameters = inspect.signature(verify_signature).parameters.values()
    assert {parameter.kind for parameter in parameters} == {inspect.Parameter.KEYWORD_ONLY}


@given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=64))
def test_any_body_signed_with_a_secret_verifies(body: bytes, secret: str) -> None:
    header = sign(body=body, secret=secret)
    assert verify_signature(body=body, header=header, secrets=[secret]).valid


@given(body=st.binary(min_size=1, max_size=256), data=st.data())
def test_any_altered_byte_is_a_mismatch(body: bytes, data: st.DataObject) -> None:
    header = sign(body=body, secret=SECRET)
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    altered = bytearray(body)
    altered[index] ^= flip
    check = verify_signature(body=bytes(altered), header=header, secrets=[SECRET])
    assert check.failure is SignatureFailure.MISMATCH


@pytest.mark.parametrize(
    ("header", "failure"),
    [
        (None, SignatureFailure.MISSING),
        ("  ", SignatureFailure.MISSING),
        ("sha256=zz", SignatureFailure.MALFORMED),
        ("sha1=0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33", SignatureFailure.UNSUPPORTED_METHOD),
    ],
    ids=["absent", "blank", "malformed", "sha1"],
)
def test_header_failure_names_a_header_no_secret_can_match(
    header: str | None, failure: SignatureFailure
) -> None:
    assert header_failure(header) is failure


def test_header_failure_passes_a_well_formed_header_whatever_its_digest() -> None:
    assert header_failure(sign(body=BODY, secret=SECRET)) is None
    assert header_failure("sha256=" + "0" * 64) is None
