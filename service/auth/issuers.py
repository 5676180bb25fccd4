"""The trusted issuers: the YAML file ``GUIDANCE_AUTH_ISSUERS`` names, checked in full at start.

.. code-block:: yaml

    issuers:
      - issuer: https://idp.council.example          # the exact `iss` of its tokens
        audience: api://safeguarding-guidance         # the `aud` its tokens carry for /v1
        jwks_file: /etc/guidance/idp-jwks.json        # or jwks_url: https://…
        client_claim: azp                             # optional; default azp, then client_id, then sub
      - issuer: https://ehr.trust.example             # a CDS Hooks client
        jwks_url: https://ehr.trust.example/.well-known/jwks.json
        jku_allowed: [https://ehr.trust.example/keys/2026.json]   # optional
        cds_hooks: true                               # may call /cds-services/*

Any problem (an unknown key, a key given twice, a missing or doubled JWKS source, an unreadable
or unusable JWKS file, a URL that is not https) is a :class:`ConfigurationError` for
``GUIDANCE_AUTH_ISSUERS`` naming the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from service.auth.keys import DEFAULT_REFRESH_INTERVAL, FileKeys, InvalidKeySet, KeySource, UrlKeys
from service.settings import ConfigurationError
from service.yaml_documents import RepeatedKey, YamlDocument, YamlSyntaxError, error_place, error_text

SETTING = "GUIDANCE_AUTH_ISSUERS"
_TEXT = Annotated[str, Meta(min_length=1, max_length=2000, pattern=r"^\S+$")]
_CLAIM = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")]
_KEY_URL = re.compile(r"^(https://[^\s/?#@]+|http://(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?)/\S*$")


class IssuerSpec(Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    issuer: _TEXT
    audience: _TEXT | None = None
    jwks_file: _TEXT | None = None
    jwks_url: _TEXT | None = None
    jku_allowed: list[_TEXT] = []
    client_claim: _CLAIM | None = None
    cds_hooks: bool = False
    jwks_refresh_seconds: Annotated[float, Meta(ge=1, le=3600)] = DEFAULT_REFRESH_INTERVAL


class IssuersFile(Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    issuers: Annotated[list[IssuerSpec], Meta(min_length=1)]


class Issuer(Struct, kw_only=True, frozen=True):
    """A trusted issuer, ready to verify with."""

    issuer: str
    audience: str | None  # None: its tokens may not call /v1
    cds_hooks: bool
    client_claim: str | None  # None: azp, then client_id, then sub
    keys: KeySource
    jku: dict[str, KeySource]  # the allowed `jku` URLs, each with its own key source


def load_issuers(path: Path) -> dict[str, Issuer]:
    """The issuers file as :class:`Issuer` by exact ``iss``; raises :class:`ConfigurationError`."""
    try:
        document = YamlDocument.read(path)
    except OSError as error:
        raise ConfigurationError(SETTING, f"cannot read the issuers file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(SETTING, f"the issuers file {path} is not UTF-8 text") from None
    except YamlSyntaxError as error:
        where = f", line {error.line}" if error.line else ""
        raise ConfigurationError(SETTING, f"{path}{where}: not valid YAML: {error.reason}") from None
    except RepeatedKey as error:
        raise ConfigurationError(SETTING, f"{path}, line {error.line}: {error}") from None
    try:
        spec = msgspec.convert(document.data, IssuersFile, strict=True)
    except msgspec.ValidationError as error:
        message = str(error)
        parts = error_place(message)
        text = error_text(message)
        unknown = re.search(r"unknown field `([^`]+)`", text)
        if unknown:
            parts.append(unknown.group(1))
            text = f"unknown key `{unknown.group(1)}`"
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
        raise ConfigurationError(
            SETTING, f"{path}, line {_line(document, parts)}: {text}" + (f" (at `{where}`)" if where else "")
        ) from None
    issuers: dict[str, Issuer] = {}
    for index, entry in enumerate(spec.issuers):
        line = _line(document, ["issuers", index])

        def refuse(message: str, line: int = line, name: str = entry.issuer) -> ConfigurationError:
            return ConfigurationError(SETTING, f"{path}, line {line}: issuer `{name}`: {message}")

        if entry.issuer in issuers:
            raise refuse("listed twice")
        if (entry.jwks_file is None) == (entry.jwks_url is None):
            raise refuse("give exactly one JWKS source: jwks_file or jwks_url")
        if entry.audience is None and not entry.cds_hooks:
            raise refuse("it has no `audience` and is not `cds_hooks: true`, so it could call nothing")
        for url in (entry.jwks_url, *entry.jku_allowed):
            if url is not None and not _KEY_URL.match(url):
                raise refuse(f"`{url}` is not an https:// URL (http:// only to 127.0.0.1, localhost, [::1])")
        keys: KeySource
        if entry.jwks_file is not None:
            file = Path(entry.jwks_file)
            try:
                keys = FileKeys(file if file.is_absolute() else path.parent / file)
            except InvalidKeySet as error:
                raise refuse(
                    f"jwks_file: {error}", _line(document, ["issuers", index, "jwks_file"])
                ) from None
        else:
            # The entry was checked to name exactly one source, so this one is a URL.
            keys = UrlKeys(entry.jwks_url, entry.jwks_refresh_seconds)  # type: ignore[arg-type]
        issuers[entry.issuer] = Issuer(
            issuer=entry.issuer,
            audience=entry.audience,
            cds_hooks=entry.cds_hooks,
            client_claim=entry.client_claim,
            keys=keys,
            jku={url: UrlKeys(url, entry.jwks_refresh_seconds) for url in entry.jku_allowed},
        )
    return issuers


def _line(document: YamlDocument, parts: list[str | int]) -> int:
    return document.line(*parts) or 1
