"""Tampering with the signature itself, not the body: every digit, length and method counts.

The rules these tests state (and ``verify_signature`` implements):

- only the ``sha256`` method is accepted; the method label is compared
  case-insensitively (``SHA256=`` is Jira's value in another case), and any
  other label is refused even when its value is a correct SHA-256 HMAC;
- the value must be exactly 64 hex digits; hex digits compare case-insensitively
  (``A`` and ``a`` are the same nibble), so only a change of value can fail;
- whitespace around the whole header, the method and the value is tolerated;
- all 64 digits take part in the comparison: changing any one is a mismatch.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.api.signature import SignatureFailure, sign, verify_signature

SECRET = "current-secret-0123456789"
BODY = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"10001"}}'
HEX_DIGITS = "0123456789abcdef"
VALUE = sign(body=BODY, secret=SECRET).partition("=")[2]


def check(header: str, body: bytes = BODY) -> SignatureFailure | None:
    return verify_signature(body=body, header=header, secrets=[SECRET]).failure


def with_digit(value: str, position: int, digit: str) -> str:
    return value[:position] + digit + value[position + 1 :]


def test_the_untouched_value_verifies() -> None:
    assert len(VALUE) == 64
    assert check(f"sha256={VALUE}") is None


@pytest.mark.parametrize("position", range(64))
def test_every_other_digit_at_every_position_is_a_mismatch(position: int) -> None:
    original = VALUE[position]
    for digit in HEX_DIGITS.replace(original, ""):
        header = f"sha256={with_digit(VALUE, position, digit)}"
        assert check(header) is SignatureFailure.MISMATCH, (position, digit)


@given(
    body=st.binary(max_size=256),
    secret=st.text(min_size=1, max_size=40),
    position=st.integers(0, 63),
    shift=st.integers(1, 15),
    upper=st.booleans(),
)
def test_any_changed_digit_of_any_signature_is_a_mismatch(
    body: bytes, secret: str, position: int, shift: int, upper: bool
) -> None:
    value = sign(body=body, secret=secret).partition("=")[2]
    digit = HEX_DIGITS[(HEX_DIGITS.index(value[position]) + shift) % 16]
    altered = with_digit(value, position, digit)
    header = f"sha256={altered.upper() if upper else altered}"
    check_ = verify_signature(body=body, header=header, secrets=[secret])
    assert check_.failure is SignatureFailure.MISMATCH


@pytest.mark.parametrize("length", range(64))
def test_every_truncation_is_refused(length: int) -> None:
    failure = check(f"sha256={VALUE[:length]}")
    assert failure is SignatureFailure.MALFORMED


@given(extra=st.text(alphabet=HEX_DIGITS + HEX_DIGITS.upper(), min_size=1, max_size=64))
def test_every_extension_is_refused(extra: str) -> None:
    assert check(f"sha256={VALUE}{extra}") is SignatureFailure.MALFORMED
    assert check(f"sha256={extra}{VALUE}") is SignatureFailure.MALFORMED


def test_a_value_signed_for_sha256_under_a_prefix_of_its_length_is_refused() -> None:
    # The first 32 digits are right and the rest are zeros: only a full comparison sees it.
    half = VALUE[:32] + "0" * 32
    assert half != VALUE
    assert check(f"sha256={half}") is SignatureFailure.MISMATCH


@pytest.mark.parametrize(
    "method",
    [
        "md5",
        "sha1",
        "sha224",
        "sha384",
        "sha512",
        "sha3-256",
        "sha-256",
        "sha",
        "sha2560",
        "hmac-sha256",
        "hs256",
        "sha256-",
        "x",
        "0",
    ],
)
def test_another_method_with_a_valid_sha256_value_is_refused(method: str) -> None:
    assert check(f"{method}={VALUE}") is SignatureFailure.UNSUPPORTED_METHOD
    assert check(f"{method.upper()}={VALUE}") is SignatureFailure.UNSUPPORTED_METHOD


@given(method=st.from_regex(r"[a-z0-9-]{1,32}", fullmatch=True))
def test_any_well_formed_method_but_sha256_is_unsupported(method: str) -> None:
    expected = None if method == "sha256" else SignatureFailure.UNSUPPORTED_METHOD
    assert check(f"{method}={VALUE}") is expected


@given(label=st.text(max_size=40).filter(lambda text: "=" not in text))
def test_only_the_sha256_label_in_any_case_verifies(label: str) -> None:
    failure = check(f"{label}={VALUE}")
    if label.strip().lower() == "sha256":
        assert failure is None
    else:
        assert failure in (SignatureFailure.UNSUPPORTED_METHOD, SignatureFailure.MALFORMED)


@pytest.mark.parametrize("method", ["sha256", "SHA256", "Sha256", "sHa256"])
def test_the_method_label_is_case_insensitive(method: str) -> None:
    assert check(f"{method}={VALUE}") is None


@given(cases=st.lists(st.booleans(), min_size=64, max_size=64))
def test_hex_digits_compare_in_either_case(cases: list[bool]) -> None:
    mixed = "".join(c.upper() if up else c for c, up in zip(VALUE, cases, strict=True))
    assert check(f"sha256={mixed}") is None


@pytest.mark.parametrize(
    "header",
    [f"  sha256={VALUE}\t", f"sha256 = {VALUE}", f"sha256=  {VALUE}  ", f"\tSHA256 ={VALUE}"],
    ids=["around-header", "around-equals", "around-value", "tab-and-case"],
)
def test_whitespace_around_method_and_value_is_tolerated(header: str) -> None:
    assert check(header) is None


@pytest.mark.parametrize(
    "header",
    [f"sha256={VALUE[:32]} {VALUE[32:]}", f"sha256={VALUE}\x00", f"sha 256={VALUE}"],
    ids=["space-inside-value", "nul-after-value", "space-inside-method"],
)
def test_whitespace_or_bytes_inside_the_parts_are_malformed(header: str) -> None:
    assert check(header) is SignatureFailure.MALFORMED


@pytest.mark.parametrize("letter", sorted(set(string.ascii_letters) - set("abcdefABCDEF")))
def test_a_non_hex_letter_anywhere_is_malformed(letter: str) -> None:
    for position in (0, 31, 32, 63):
        assert check(f"sha256={with_digit(VALUE, position, letter)}") is SignatureFailure.MALFORMED


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256"])
def test_the_method_is_the_text_before_the_first_equals_sign(method: str) -> None:
    # "md5=<hex>=" names the md5 method with a malformed value; it is not a method "md5=<hex>".
    expected = (
        SignatureFailure.MALFORMED if method == "sha256" else SignatureFailure.UNSUPPORTED_METHOD
    )
    assert check(f"{method}={VALUE}=") is expected
    assert check(f"{method}={VALUE}=={VALUE}") is expected
