"""The authentication settings, the mode each address allows, which paths need which audience,
and the jti memory: each decided in one place, checked here directly."""

from __future__ import annotations

import time

import pytest

from service.auth.mode import AuthMode, auth_mode
from service.auth.replay import ReplayCache
from service.http.authentication import PathKind, bearer_token, path_kind
from service.settings import ConfigurationError, Settings, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("guidance.internal", False),
    ],
)
def test_loopback_is_127_0_0_0_8_ipv6_one_and_localhost(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("auth", "host", "mode"),
    [
        (None, "127.0.0.1", AuthMode.LOOPBACK),
        (None, "localhost", AuthMode.LOOPBACK),
        ("off", "127.0.0.1", AuthMode.OFF),
        ("off", "0.0.0.0", AuthMode.OFF),
        ("jwt", "0.0.0.0", AuthMode.JWT),
    ],
)
def test_the_mode_each_address_allows(auth: str | None, host: str, mode: AuthMode) -> None:
    assert auth_mode(Settings(auth=auth, host=host)) is mode  # type: ignore[arg-type]


def test_unset_beyond_loopback_is_refused_naming_both_choices() -> None:
    with pytest.raises(ConfigurationError) as refused:
        auth_mode(Settings(host="0.0.0.0"))
    assert refused.value.setting == "GUIDANCE_AUTH"
    assert "GUIDANCE_AUTH=jwt" in refused.value.message and "GUIDANCE_AUTH=off" in refused.value.message


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GUIDANCE_AUTH": "JWT", "GUIDANCE_AUTH_ISSUERS": "i.yaml"}, {"auth": "jwt"}),
        ({"GUIDANCE_AUTH": "off"}, {"auth": "off", "auth_issuers": None}),
        ({"GUIDANCE_RATE_LIMIT": "600/minute"}, {"rate_limit": ("minute", 600)}),
        ({"GUIDANCE_RATE_LIMIT": " 10 / second "}, {"rate_limit": ("second", 10)}),
        ({"GUIDANCE_RATE_LIMIT": "off"}, {"rate_limit": None}),
        ({}, {"rate_limit": None, "cors_origins": (), "public_url": None, "auth": None}),
        (
            {"GUIDANCE_CORS_ORIGINS": "https://portal.example, http://localhost:3000"},
            {"cors_origins": ("https://portal.example", "http://localhost:3000")},
        ),
        (
            {"GUIDANCE_PUBLIC_URL": "https://guidance.example/api/"},
            {"public_url": "https://guidance.example/api"},
        ),
        ({"GUIDANCE_PUBLIC_URL": "http://127.0.0.1:8000"}, {"public_url": "http://127.0.0.1:8000"}),
    ],
)
def test_authentication_settings_are_read(env: dict[str, str], expected: dict[str, object]) -> None:
    settings = Settings.from_env(env)
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"GUIDANCE_AUTH": "yes"}, "GUIDANCE_AUTH"),
        ({"GUIDANCE_AUTH": "jwt"}, "GUIDANCE_AUTH_ISSUERS"),
        ({"GUIDANCE_AUTH_ISSUERS": "i.yaml"}, "GUIDANCE_AUTH_ISSUERS"),
        ({"GUIDANCE_AUTH": "off", "GUIDANCE_AUTH_ISSUERS": "i.yaml"}, "GUIDANCE_AUTH_ISSUERS"),
        ({"GUIDANCE_RATE_LIMIT": "600"}, "GUIDANCE_RATE_LIMIT"),
        ({"GUIDANCE_RATE_LIMIT": "0/minute"}, "GUIDANCE_RATE_LIMIT"),
        ({"GUIDANCE_RATE_LIMIT": "5/week"}, "GUIDANCE_RATE_LIMIT"),
        ({"GUIDANCE_CORS_ORIGINS": "*"}, "GUIDANCE_CORS_ORIGINS"),
        ({"GUIDANCE_CORS_ORIGINS": "https://a.example, *"}, "GUIDANCE_CORS_ORIGINS"),
        ({"GUIDANCE_CORS_ORIGINS": "http://portal.example"}, "GUIDANCE_CORS_ORIGINS"),
        ({"GUIDANCE_CORS_ORIGINS": "https://portal.example/app"}, "GUIDANCE_CORS_ORIGINS"),
        ({"GUIDANCE_CORS_ORIGINS": "null"}, "GUIDANCE_CORS_ORIGINS"),
        ({"GUIDANCE_PUBLIC_URL": "http://guidance.example"}, "GUIDANCE_PUBLIC_URL"),
        ({"GUIDANCE_PUBLIC_URL": "https://guidance.example/?a=1"}, "GUIDANCE_PUBLIC_URL"),
        ({"GUIDANCE_PUBLIC_URL": "https://guidance.example/#x"}, "GUIDANCE_PUBLIC_URL"),
        ({"GUIDANCE_PUBLIC_URL": "guidance.example"}, "GUIDANCE_PUBLIC_URL"),
    ],
)
def test_a_bad_authentication_setting_is_refused_naming_it(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert refused.value.setting == setting


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/health", PathKind.OPEN),
        ("/ready", PathKind.OPEN),
        ("/metrics", PathKind.OPEN),
        ("/schema", PathKind.OPEN),
        ("/schema/openapi.json", PathKind.OPEN),
        ("/schemas", PathKind.API),
        ("/healthz", PathKind.API),
        ("/v1/evaluate", PathKind.API),
        ("/v1/rules/a/b", PathKind.API),
        ("/cds-services", PathKind.CDS_HOOKS),
        ("/cds-services/case-facts", PathKind.CDS_HOOKS),
        ("/cds-services/case-facts/feedback", PathKind.CDS_HOOKS),
        ("/cds-servicesx", PathKind.API),
        ("/", PathKind.API),
    ],
)
def test_which_paths_need_a_token_and_which_audience(path: str, kind: PathKind) -> None:
    assert path_kind(path) is kind


@pytest.mark.parametrize(
    ("headers", "token", "reason"),
    [
        ([], None, "no_token"),
        ([(b"authorization", b"Bearer abc.def.ghi")], "abc.def.ghi", ""),
        ([(b"authorization", b"bearer   abc.def.ghi ")], "abc.def.ghi", ""),
        ([(b"authorization", b"Basic dXNlcg==")], None, "not_bearer"),
        ([(b"authorization", b"Bearer")], None, "malformed"),
        ([(b"authorization", b"Bearer a b")], None, "malformed"),
        (
            [(b"authorization", b"Bearer a"), (b"authorization", b"Bearer a")],
            None,
            "several_authorization_headers",
        ),
    ],
)
def test_the_bearer_token_is_read_from_one_authorization_header(
    headers: list[tuple[bytes, bytes]], token: str | None, reason: str
) -> None:
    assert bearer_token({"headers": headers}) == (token, reason)  # type: ignore[arg-type]


def test_a_jti_is_accepted_once_per_issuer_until_it_expires() -> None:
    cache = ReplayCache()
    soon = time.time() + 0.2
    assert cache.first_use("https://a", "j1", soon)
    assert not cache.first_use("https://a", "j1", soon)
    assert cache.first_use("https://b", "j1", soon)  # another issuer's jti is another jti
    time.sleep(0.25)
    assert cache.first_use("https://c", "j2", time.time() + 60)  # forgets what has expired
    assert len(cache) == 1


def test_a_full_jti_memory_refuses_rather_than_forgets() -> None:
    cache = ReplayCache(max_remembered=2)
    later = time.time() + 60
    assert cache.first_use("i", "1", later) and cache.first_use("i", "2", later)
    assert not cache.first_use("i", "3", later)
