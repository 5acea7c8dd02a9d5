"""What the bridge accepts as a signed identity from the shop (pure logic)."""

from __future__ import annotations

import time

import jwt
import pytest

from bridge.identity import SHOP_AUDIENCE, WIDGET_AUDIENCE, IdentityRefused, IdentityVerifier
from bridge.models import Verification

SECRET = "a-shop-secret-that-is-long-enough-1234"
CUSTOMER = {"sub": "c-1", "email": "Ana@Example.com", "name": " Ana "}


def token(claims: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    now = int(time.time())
    return jwt.encode(
        {"aud": WIDGET_AUDIENCE, "iat": now, "exp": now + 300, **claims}, secret, algorithm
    )


def tampered(signed: str) -> str:
    """The same token with someone else's customer id in it, keeping the old signature."""
    header, _, signature = signed.split(".")
    claims = jwt.decode(signed, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "c-other"}, "x" * 32, "HS256").split(".")[1]
    return f"{header}.{forged}.{signature}"


def verify(raw: object, audience: str = WIDGET_AUDIENCE) -> object:
    return IdentityVerifier(SECRET, clock_skew_s=60, max_lifetime_s=3600).verify(
        raw, audience, Verification.WEB_LOGIN
    )


def refusal(raw: object, audience: str = WIDGET_AUDIENCE) -> str:
    with pytest.raises(IdentityRefused) as refused:
        verify(raw, audience)
    return refused.value.code


def test_a_well_signed_identity_names_the_customer() -> None:
    identity = IdentityVerifier(SECRET).verify(
        token({**CUSTOMER, "jti": "j1"}), WIDGET_AUDIENCE, Verification.WEB_LOGIN
    )
    assert identity.customer.id == "c-1"
    assert identity.customer.email == "ana@example.com" and identity.customer.name == "Ana"
    assert identity.token_id == "j1"


def test_what_is_refused_and_why() -> None:
    now = int(time.time())
    assert refusal(tampered(token(CUSTOMER))) == "bad_signature"
    assert refusal(token(CUSTOMER, secret="another-secret-also-long-enough-123")) == "bad_signature"
    assert refusal(token({**CUSTOMER, "iat": now - 900, "exp": now - 300})) == "expired"
    assert refusal(token({**CUSTOMER, "iat": now + 900, "exp": now + 1200})) == "not_yet_valid"
    assert refusal(token({**CUSTOMER, "exp": now + 10 * 3600})) == "too_long_lived"
    assert refusal(token(CUSTOMER), SHOP_AUDIENCE) == "wrong_audience"
    assert refusal(token({"email": "x@example.com"})) == "malformed"  # no sub
    assert refusal(token({**CUSTOMER, "email": "not-an-address"})) == "malformed"
    assert refusal("a.b.c") == "malformed" and refusal(12) == "malformed"
    assert refusal("x" * 5000) == "malformed"
    unsigned = jwt.encode({**CUSTOMER, "aud": WIDGET_AUDIENCE, "exp": now + 60}, None, "none")
    assert refusal(unsigned) in ("malformed", "bad_signature")  # "alg: none" is never accepted


def test_a_little_clock_skew_is_forgiven() -> None:
    now = int(time.time())
    assert verify(token({**CUSTOMER, "iat": now + 30, "exp": now + 300}))  # 30 s ahead: fine


def test_without_a_secret_nobody_is_signed_in() -> None:
    with pytest.raises(IdentityRefused) as refused:
        IdentityVerifier("").verify(token(CUSTOMER), WIDGET_AUDIENCE, Verification.WEB_LOGIN)
    assert refused.value.code == "not_configured"
