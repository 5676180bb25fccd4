"""The public keys of a trusted issuer, found by ``kid``: a JWK Set from a file, read once at
start, or from a URL, fetched by PyJWT's ``PyJWKClient`` with its cache.

A URL's set is cached for :data:`JWKS_LIFESPAN` seconds. A ``kid`` not in it makes the client
fetch the set again, at most once per the issuer's refresh interval (its cooldown), so that a
key rotated in at the issuer is picked up without a restart and a stream of tokens with made-up
``kid`` values cannot make the service fetch on every request. After a failed fetch the source
answers "unavailable" at once until the interval has passed, rather than every request waiting
on an issuer that is down.

Only asymmetric public keys are ever returned: RSA, EC (P-256, P-384, P-521) and OKP (Ed25519,
Ed448). A symmetric (``oct``) key or one holding private material is never used to verify.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK, PyJWKClient, PyJWTError
from jwt.exceptions import PyJWKClientConnectionError, PyJWKClientError
from msgspec import Struct

# The algorithms a token may name: asymmetric only. `none` and every HMAC algorithm are refused,
# so a public key can never be used as an HMAC secret.
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
PUBLIC_KEY_TYPES = (RSAPublicKey, EllipticCurvePublicKey, Ed25519PublicKey, Ed448PublicKey)
JWKS_LIFESPAN = 300.0  # seconds a fetched JWK Set is used before it is fetched again
JWKS_TIMEOUT = 5.0  # seconds to wait for an issuer's JWK Set
DEFAULT_REFRESH_INTERVAL = 30.0  # at most one fetch per this many seconds for an unknown kid


class KeyNotFound(Exception):
    """No usable key with this ``kid``."""


class KeysUnavailable(Exception):
    """The issuer's key set could not be fetched."""


class InvalidKeySet(ValueError):
    """A JWK Set file that cannot be used; the message says why (it never holds key material)."""


class VerificationKey(Struct, frozen=True):
    key: Any  # a cryptography public key object
    algorithm: str | None  # the key's declared `alg`, when its JWK names one


class KeySource(Protocol):
    fetches: bool  # whether finding a key may wait on the network

    def key(self, kid: str) -> VerificationKey: ...


def _verification_key(jwk: dict[str, Any]) -> VerificationKey:
    """The public key of one JWK; raises ``InvalidKeySet`` for a key that must not be used."""
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        raise InvalidKeySet(f"key type `{jwk.get('kty')}` is not an asymmetric key type (RSA, EC, OKP)")
    if "d" in jwk:
        raise InvalidKeySet("it holds private key material; publish the public keys only")
    declared = jwk.get("alg")
    if declared is not None and declared not in ALGORITHMS:
        raise InvalidKeySet(f"`alg` {declared!r} is not an asymmetric signing algorithm")
    try:
        key = PyJWK(jwk).key
    except PyJWTError as error:
        raise InvalidKeySet(f"not a usable key ({type(error).__name__})") from None
    if not isinstance(key, PUBLIC_KEY_TYPES):
        raise InvalidKeySet("not a public key")
    return VerificationKey(key=key, algorithm=declared)


def _signing_jwks(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise InvalidKeySet('not a JWK Set (a JSON object with a "keys" list)')
    return [k for k in data["keys"] if isinstance(k, dict) and k.get("use") in (None, "sig")]


class FileKeys:
    """A JWK Set file, read once: a key added to it takes a restart."""

    fetches = False

    def __init__(self, path: Path) -> None:
        try:
            data = json.loads(path.read_bytes())
        except OSError as error:
            raise InvalidKeySet(f"cannot read {path}: {error.strerror}") from None
        except ValueError:
            raise InvalidKeySet(f"{path} is not JSON") from None
        self._keys: dict[str, VerificationKey] = {}
        for index, jwk in enumerate(_signing_jwks(data)):
            kid = jwk.get("kid")
            if not isinstance(kid, str) or not kid:
                raise InvalidKeySet(f"{path}: key {index} has no `kid` (tokens name their key by kid)")
            if kid in self._keys:
                raise InvalidKeySet(f"{path}: `kid` {kid!r} is used by two keys")
            try:
                self._keys[kid] = _verification_key(jwk)
            except InvalidKeySet as error:
                raise InvalidKeySet(f"{path}: key {kid!r}: {error}") from None
        if not self._keys:
            raise InvalidKeySet(f"{path} holds no signing key")

    def key(self, kid: str) -> VerificationKey:
        try:
            return self._keys[kid]
        except KeyError:
            raise KeyNotFound from None


class _RecordingClient(PyJWKClient):
    """PyJWT's client, noting each key's declared ``alg`` as it fetches (the parsed set it caches
    keeps the key but not whether its algorithm was declared or guessed from its type)."""

    declared: dict[str, str | None]

    def fetch_data(self) -> Any:
        data = super().fetch_data()
        keys = data.get("keys") if isinstance(data, dict) else None
        self.declared = {
            k["kid"]: k.get("alg")
            for k in (keys if isinstance(keys, list) else [])
            if isinstance(k, dict) and isinstance(k.get("kid"), str)
        }
        return data


class UrlKeys:
    """A JWK Set URL (an issuer's ``jwks_url``, or an allowed ``jku``)."""

    fetches = True

    def __init__(self, url: str, refresh_interval: float = DEFAULT_REFRESH_INTERVAL) -> None:
        self.url = url
        self._refresh_interval = refresh_interval
        self._client = _RecordingClient(
            url,
            cache_jwk_set=True,
            lifespan=JWKS_LIFESPAN,
            timeout=JWKS_TIMEOUT,
            cooldown_duration=refresh_interval,
        )
        self._client.declared = {}
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    def key(self, kid: str) -> VerificationKey:
        with self._lock:
            if self._failed_at is not None and time.monotonic() - self._failed_at < self._refresh_interval:
                raise KeysUnavailable
        try:
            jwk = self._client.get_signing_key(kid)
        except PyJWKClientConnectionError:
            self._failed()
            raise KeysUnavailable from None
        except PyJWKClientError:  # fetched, but no signing key with this kid
            raise KeyNotFound from None
        except Exception:  # a set that is not a JWK Set, or an outage the client did not wrap
            self._failed()
            raise KeysUnavailable from None
        with self._lock:
            self._failed_at = None
        if jwk.key_type not in ("RSA", "EC", "OKP") or not isinstance(jwk.key, PUBLIC_KEY_TYPES):
            raise KeyNotFound
        return VerificationKey(key=jwk.key, algorithm=self._client.declared.get(kid))

    def _failed(self) -> None:
        with self._lock:
            self._failed_at = time.monotonic()
