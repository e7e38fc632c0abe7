"""normalise_email: wrapped and full-width addresses, provider folding, free mail, and any-input promises."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.normalise.emails import normalise_email

pytestmark = pytest.mark.unit

FULL_WIDTH_AT, FULL_WIDTH_DOT, IDEOGRAPHIC_DOT = "\uff20", "\uff0e", "\u3002"

local_parts = st.text(alphabet=st.sampled_from(list("abcz019.+-_'\"<> ()é中@")), max_size=20)
domains = st.one_of(
    st.sampled_from(["gmail.com", "qq.com", "yunfan.cn", "example.com", "例子.中国", "localhost", "a..com", "x.test"]),
    st.text(alphabet=st.sampled_from(list("abz09.-_ 中")), max_size=20),
)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Wang.Wei@YunFan.CN", "wang.wei@yunfan.cn"),
        ("  wang.wei@yunfan.cn  ", "wang.wei@yunfan.cn"),
        ("王伟 <Wang.Wei@yunfan.cn>", "wang.wei@yunfan.cn"),
        ('"Wang, Wei" <wang.wei@yunfan.cn>', "wang.wei@yunfan.cn"),
        ("mailto:wang.wei@yunfan.cn?subject=hello", "wang.wei@yunfan.cn"),
        ("wang.wei@yunfan.cn;", "wang.wei@yunfan.cn"),
        ("wang.wei@yunfan.cn.", "wang.wei@yunfan.cn"),
        (f"wang.wei{FULL_WIDTH_AT}yunfan{FULL_WIDTH_DOT}cn", "wang.wei@yunfan.cn"),
        (f"12345{FULL_WIDTH_AT}qq{IDEOGRAPHIC_DOT}com", "12345@qq.com"),
        ("Jürgen@Web.de", "jürgen@web.de"),
        ("info@例子.中国", "info@例子.中国"),
    ],
)
def test_the_address_is_found_trimmed_and_lower_cased(raw: str, normalised: str) -> None:
    info = normalise_email(raw)
    assert info is not None
    assert (info.normalised, info.valid, info.error, info.raw) == (normalised, True, None, raw)
    assert f"{info.local}@{info.domain}" == normalised


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("John.Doe+news@GoogleMail.com", "johndoe@gmail.com"),
        ("j.o.h.n.doe@gmail.com", "johndoe@gmail.com"),
        ("wei+crm@outlook.com", "wei@outlook.com"),
        ("wei+crm@hotmail.co.uk", "wei@hotmail.co.uk"),
        ("anna+1@icloud.com", "anna@icloud.com"),
        ("anna+1@proton.me", "anna@proton.me"),
        ("anna+1@fastmail.com", "anna@fastmail.com"),
        ("anna-shop@yahoo.co.jp", "anna@yahoo.co.jp"),
        ("first.last+tag@yunfan.cn", "first.last+tag@yunfan.cn"),  # a company's rules are unknown: no folding
        ("+news@gmail.com", "+news@gmail.com"),  # no mailbox before the tag: nothing to fold onto
    ],
)
def test_the_canonical_form_folds_what_the_provider_ignores(raw: str, canonical: str) -> None:
    info = normalise_email(raw)
    assert info is not None
    assert info.canonical == canonical


@pytest.mark.parametrize(
    ("domain", "free"),
    [
        ("qq.com", True),
        ("foxmail.com", True),
        ("163.com", True),
        ("126.com", True),
        ("sina.cn", True),
        ("139.com", True),
        ("gmail.com", True),
        ("yahoo.co.uk", True),
        ("web.de", True),
        ("proton.me", True),
        ("yunfan.cn", False),
        ("tencent.com", False),
        ("live.company.com", False),
    ],
)
def test_free_mail_is_recognised_by_domain(domain: str, free: bool) -> None:  # noqa: FBT001 -- a pytest parameter, not a flag
    info = normalise_email(f"someone@{domain}")
    assert info is not None
    assert info.free_mail is free


@pytest.mark.parametrize(
    "raw",
    ["wang.wei", "wang.wei@", "@yunfan.cn", "wang..wei@yunfan.cn", "a@b", "a@localhost", "a b@c.com", "a@b@c.com"],
)
def test_invalid_addresses_have_a_code_and_nothing_else(raw: str) -> None:
    info = normalise_email(raw)
    assert info is not None
    assert (info.valid, info.error, info.normalised, info.canonical, info.local, info.domain, info.free_mail) == (
        False,
        "email_invalid",
        None,
        None,
        None,
        None,
        False,
    )
    assert info.raw == raw


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b"])
def test_nothing_is_none(raw: str | None) -> None:
    assert normalise_email(raw) is None


# --- properties ------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.text(), st.builds("{}@{}".format, local_parts, domains)))
def test_never_raises_and_valid_means_complete(raw: str) -> None:
    info = normalise_email(raw)
    if info is None:
        return
    assert info.valid == (info.error is None) == (info.normalised is not None) == (info.canonical is not None)
    assert info.error in {None, "email_invalid"}


@settings(max_examples=200, deadline=None, database=None)
@given(local_parts, domains)
def test_validity_is_email_validators_verdict(local: str, domain: str) -> None:
    address = f"{local}@{domain}".lower()
    if address.count("@") != 1 or address != address.strip(" \"'<>()[]{}.;,:"):
        return  # unwrapping would change it: not the validator's input any more
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    info = normalise_email(address)
    assert info is not None
    assert info.normalised == expected


@settings(max_examples=200, deadline=None, database=None)
@given(st.builds("{}@{}".format, local_parts, domains))
def test_normalising_the_output_again_changes_nothing(raw: str) -> None:
    info = normalise_email(raw)
    if info is None or info.normalised is None or info.canonical is None:
        return
    again, canonical_again = normalise_email(info.normalised), normalise_email(info.canonical)
    assert again is not None
    assert canonical_again is not None
    assert (again.normalised, again.canonical, canonical_again.canonical) == (
        info.normalised,
        info.canonical,
        info.canonical,
    )
