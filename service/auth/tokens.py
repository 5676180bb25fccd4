"""Checking a bearer token: PyJWT verifies; this module decides what it is asked to check.

A token is accepted only when every one of these holds:

- its header names an asymmetric algorithm (RS*, PS*, ES*, EdDSA; never ``none`` or HMAC) and a
  ``kid``; the key with that ``kid`` comes from the issuer's JWK Set (or from a ``jku`` URL on
  the issuer's allow-list), is a public key of a type the algorithm uses, and when its JWK
  declares an ``alg``, that is the token's;
- its ``iss`` is exactly a trusted issuer's, and its signature verifies with that issuer's key;
- ``aud`` is the audience asked for: the issuer's own for ``/v1``, the exact URL called for CDS
  Hooks (where ``aud`` must be that one string);
- ``exp`` and ``iat`` are present, and with :data:`CLOCK_SKEW` allowed, ``exp`` has not passed,
  ``iat`` and any ``nbf`` are not in the future; ``exp - iat`` is at most :data:`MAX_LIFETIME`;
- it names its client (the issuer's ``client_claim``, else ``azp``, ``client_id``, ``sub``; for
  CDS Hooks, whose tokens have none of these, else ``iss``, the CDS client itself) as printable
  text, and its ``tenant``, when it has one, likewise;
- for CDS Hooks, the issuer may call CDS Hooks, the token has a ``jti``, and that ``jti`` was
  not accepted before (see :mod:`service.auth.replay`).

Anything else raises :class:`TokenRefused` with a short reason code for the log. Nothing of the
token, and nothing a caller chose (a claim's value, a ``kid``, an unknown ``iss``), is ever put
into a reason.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.api_jwt import decode_complete

from service.auth.callers import Caller
from service.auth.issuers import Issuer
from service.auth.keys import ALGORITHMS, KeyNotFound, KeysUnavailable
from service.auth.replay import ReplayCache

CLOCK_SKEW = 60  # seconds allowed between the issuer's clock and ours
MAX_LIFETIME = 3600  # seconds from `iat` to `exp`; also how long a jti must be remembered
MAX_TOKEN_CHARS = 8192
MAX_CLAIM_CHARS = 256
CLIENT_CLAIMS = ("azp", "client_id", "sub")


class TokenRefused(Exception):
    """A token not accepted; ``reason`` is a short code, ``issuer`` a trusted issuer or None."""

    def __init__(self, reason: str, issuer: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.issuer = issuer


def _text(value: Any) -> str | None:
    """A claim usable as a name in the audit trail: printable text of bounded length."""
    if isinstance(value, str) and 0 < len(value) <= MAX_CLAIM_CHARS and value.isprintable():
        return value
    return None


class TokenVerifier:
    def __init__(self, issuers: dict[str, Issuer], replay: ReplayCache | None = None) -> None:
        self.issuers = issuers
        self.replay = replay or ReplayCache()
        # Whether finding a key may wait on the network (then the caller runs this in a thread).
        self.fetches = any(
            source.fetches for issuer in issuers.values() for source in (issuer.keys, *issuer.jku.values())
        )

    def verify(self, token: str, audience: str | None, *, cds_hooks: bool) -> Caller:
        """The caller ``token`` names, or :class:`TokenRefused`.

        ``audience`` is the exact URL called, for CDS Hooks; for the API (``cds_hooks`` False) it
        is None and the issuer's configured ``audience`` is required.
        """
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRefused("token_too_long")
        try:
            unverified = decode_complete(token, options={"verify_signature": False})
        except Exception:
            raise TokenRefused("malformed") from None
        header, payload = unverified["header"], unverified["payload"]
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise TokenRefused("algorithm_not_allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("no_kid")
        iss = payload.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise TokenRefused("unknown_issuer")

        def refuse(reason: str) -> TokenRefused:
            return TokenRefused(reason, issuer.issuer)

        if cds_hooks:
            if not issuer.cds_hooks:
                raise refuse("issuer_not_for_cds_hooks")
            expected = audience
        else:
            if issuer.audience is None:
                raise refuse("issuer_not_for_api")
            expected = issuer.audience
        source = issuer.keys
        if "jku" in header:
            jku = header["jku"]
            allowed = issuer.jku.get(jku) if isinstance(jku, str) else None
            if allowed is None:
                raise refuse("jku_not_allowed")
            source = allowed
        try:
            key = source.key(kid)
        except KeyNotFound:
            raise refuse("unknown_kid") from None
        except KeysUnavailable:
            raise refuse("keys_unavailable") from None
        if key.algorithm is not None and key.algorithm != algorithm:
            raise refuse("algorithm_not_for_key")
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=expected,
                issuer=issuer.issuer,
                leeway=CLOCK_SKEW,
                options={
                    "require": ["exp", "iat", "iss", "aud"],
                    "strict_aud": cds_hooks,
                    "enforce_minimum_key_length": True,  # no RSA key under 2048 bits
                },
            )
        except jwt.ExpiredSignatureError:
            raise refuse("expired") from None
        except jwt.ImmatureSignatureError:
            raise refuse("not_yet_valid") from None
        except jwt.InvalidAudienceError:
            raise refuse("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise refuse("wrong_issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise refuse(f"no_{error.claim}") from None
        except jwt.InvalidSignatureError:
            raise refuse("bad_signature") from None
        except (jwt.InvalidAlgorithmError, jwt.InvalidKeyError, TypeError, ValueError):
            raise refuse("algorithm_not_for_key") from None
        except jwt.PyJWTError:
            raise refuse("invalid_claims") from None
        try:
            lifetime = int(claims["exp"]) - int(claims["iat"])
        except (TypeError, ValueError, OverflowError):
            raise refuse("invalid_claims") from None
        if lifetime > MAX_LIFETIME:
            raise refuse("lifetime_too_long")
        if issuer.client_claim is not None:
            client = _text(claims.get(issuer.client_claim))
        else:
            named = [claims[name] for name in CLIENT_CLAIMS if claims.get(name) is not None]
            client = _text(named[0]) if named else None
        if client is None and cds_hooks and issuer.client_claim is None:
            client = issuer.issuer  # CDS Hooks tokens name no client but their issuer, the CDS client
        if client is None:
            raise refuse("no_client")
        tenant = None
        if "tenant" in claims:
            tenant = _text(claims["tenant"])
            if tenant is None:
                raise refuse("invalid_tenant")
        if cds_hooks:
            jti = _text(claims.get("jti"))
            if jti is None:
                raise refuse("no_jti")
            if not self.replay.first_use(issuer.issuer, jti, int(claims["exp"]) + CLOCK_SKEW):
                raise refuse("replayed_jti")
        return Caller(client=client, tenant=tenant, issuer=issuer.issuer)
