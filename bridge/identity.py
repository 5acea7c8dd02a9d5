"""Who a customer is, vouched for by the shop: identities its server signs (JWT, HS256) with the
secret it shares with the bridge (SHOP_IDENTITY_SECRET; docs/identity.md).

The bridge checks the signature, the audience, the expiry (with some clock skew) and that the
token is short-lived; anything else is refused with a reason a customer can be told.
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from bridge.models import Conversation, Customer, Verification

# What a token is for, in its `aud` claim, so one signed for a page is never taken as a
# request from the shop's server, or the other way round.
WIDGET_AUDIENCE = "support-widget"  # a signed-in customer, on the shop's pages
SHOP_AUDIENCE = "support-shop"  # the shop's server asking the bridge (link a chat, unlink)
MAX_TOKEN_CHARS = 4096


class IdentityRefused(Exception):
    """`code`: not_configured | malformed | bad_signature | expired | not_yet_valid |
    too_long_lived | wrong_audience | replayed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class SignedIdentity:
    customer: Customer
    expires_at: int  # seconds since the epoch
    token_id: str  # its `jti`, "" when it has none


@dataclass(frozen=True)
class WidgetSession:
    """The conversation a widget connection speaks for, and why the page's sign-in (if any)
    could not be used."""

    conversation: Conversation
    refused: IdentityRefused | None = None
    # False until the customer's first message stores it (SignIn.begin): a visitor who only
    # opens the widget leaves nothing behind in Redis.
    stored: bool = True


class IdentityVerifier:
    def __init__(self, secret: str, clock_skew_s: int = 60, max_lifetime_s: int = 3600) -> None:
        self._secret = secret
        self._skew_s = clock_skew_s
        self._max_lifetime_s = max_lifetime_s

    @property
    def configured(self) -> bool:
        return bool(self._secret)

    def verify(self, token: object, audience: str, via: Verification) -> SignedIdentity:
        if not self._secret:
            raise IdentityRefused("not_configured", "this shop has not set up sign-in for the chat")
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
            raise IdentityRefused("malformed", "it is not a signed identity")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=audience,
                leeway=self._skew_s,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise IdentityRefused("expired", "it has expired") from None
        except jwt.ImmatureSignatureError:
            raise IdentityRefused("not_yet_valid", "it is dated in the future") from None
        except jwt.InvalidAudienceError:
            raise IdentityRefused("wrong_audience", "it is not meant for the chat") from None
        except jwt.InvalidSignatureError:
            raise IdentityRefused("bad_signature", "its signature does not match") from None
        except jwt.InvalidTokenError as exc:
            raise IdentityRefused("malformed", f"it is not a signed identity: {exc}") from None
        return self._identity(claims, via)

    def _identity(self, claims: dict[str, object], via: Verification) -> SignedIdentity:
        expires, issued = claims["exp"], claims["iat"]
        if not isinstance(expires, int | float) or not isinstance(issued, int | float):
            raise IdentityRefused("malformed", "its exp and iat are not numbers")
        if expires - issued > self._max_lifetime_s + self._skew_s:
            raise IdentityRefused(
                "too_long_lived", f"it lasts longer than {self._max_lifetime_s} s"
            )
        sub, email, name = claims.get("sub"), claims.get("email", ""), claims.get("name", "")
        if not isinstance(sub, str) or not 0 < len(sub) <= 128:
            raise IdentityRefused("malformed", "its sub is not a customer id")
        if not isinstance(email, str) or len(email) > 254 or (email and "@" not in email):
            raise IdentityRefused("malformed", "its email is not an email address")
        if not isinstance(name, str) or len(name) > 200:
            raise IdentityRefused("malformed", "its name is not text")
        jti = claims.get("jti", "")
        customer = Customer(sub, email.strip().lower(), name.strip(), via)
        return SignedIdentity(customer, int(expires), str(jti) if jti else "")
