"""What must hold before the service may listen: knowledge to serve, links it can use.

Each check raises :class:`ConfigurationError` naming the setting at fault and saying what to do,
so that ``guidance serve`` can refuse to start with one clear line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from service.audit.sinks import open_audit_sink
from service.auth.issuers import load_issuers
from service.auth.mode import AuthMode, auth_mode
from service.auth.tokens import TokenVerifier
from service.checking.engine_fit import engine_refusals
from service.conditions.tree import ConditionError
from service.evaluation.evaluator import Evaluator
from service.packs.loader import PackError, UnknownPackError, load_packs
from service.packs.model import Pack
from service.settings import LINK_SETTING_PREFIX, ConfigurationError, Settings, is_loopback

log = structlog.get_logger("guidance.startup")


def load_knowledge(settings: Settings) -> list[Pack]:
    """The packs to serve: at least one, every one valid, every one asked for present."""
    missing = [str(d) for d in settings.knowledge_dirs if not d.is_dir()]
    if missing:
        raise ConfigurationError(
            "GUIDANCE_KNOWLEDGE",
            f"no such folder: {', '.join(missing)} (GUIDANCE_KNOWLEDGE names folders of packs)",
        )
    try:
        packs = load_packs(settings.knowledge_dirs, settings.packs)
    except UnknownPackError as error:
        raise ConfigurationError("GUIDANCE_PACKS", "; ".join(p.message for p in error.problems)) from None
    except PackError as error:
        raise ConfigurationError("GUIDANCE_KNOWLEDGE", "; ".join(str(p) for p in error.problems)) from None
    if not packs:
        where = ", ".join(str(d) for d in settings.knowledge_dirs)
        raise ConfigurationError(
            "GUIDANCE_KNOWLEDGE",
            f"no knowledge pack found in {where} (a pack is a folder holding pack.yaml): "
            "the service will not start with nothing to serve",
        )
    check_links(settings.link_settings, packs)
    return packs


def check_links(link_settings: dict[str, str], packs: Sequence[Pack]) -> None:
    """Every ``GUIDANCE_LINK_<NAME>`` must be one a loaded pack's rule leaves to the deployment:
    a misspelt name would otherwise leave a prompt without its local procedure, silently."""
    used = {link.setting for pack in packs for rule in pack.rules for link in rule.links if link.setting}
    for name in sorted(set(link_settings) - used):
        variable = LINK_SETTING_PREFIX + name.upper()
        known = ", ".join(LINK_SETTING_PREFIX + u.upper() for u in sorted(used)) or "none"
        raise ConfigurationError(
            variable, f"{variable} is a link no loaded pack uses; the packs use: {known}"
        )


def check_audit_destination(settings: Settings) -> None:
    """The audit file's folder exists (it is never created silently) and the file can be opened
    for appending: :func:`open_audit_sink`, tried once. Standard output needs no check."""
    if settings.audit_file is None:
        return
    sink = open_audit_sink(settings)
    sink.close()


def check_authentication(settings: Settings) -> TokenVerifier | None:
    """The token verifier when callers must show a token (None when authentication is off):
    the mode allowed on this address, every trusted issuer and its keys, the public URL that
    CDS Hooks audiences need."""
    if auth_mode(settings) is not AuthMode.JWT:
        return None
    if settings.auth_issuers is None:  # Settings.from_env already refuses this; settings made in code may not
        raise ConfigurationError("GUIDANCE_AUTH_ISSUERS", "GUIDANCE_AUTH=jwt needs GUIDANCE_AUTH_ISSUERS")
    issuers = load_issuers(settings.auth_issuers)
    cds_hooks = [i.issuer for i in issuers.values() if i.cds_hooks]
    if cds_hooks and settings.public_url is None:
        raise ConfigurationError(
            "GUIDANCE_PUBLIC_URL",
            f"issuer `{cds_hooks[0]}` may call CDS Hooks, whose tokens name the exact URL called as "
            "their audience: set GUIDANCE_PUBLIC_URL to this service's base URL as callers reach it",
        )
    return TokenVerifier(issuers)


def check_can_serve(settings: Settings) -> list[Pack]:
    """Everything a worker will need, tried once in the parent: authentication, knowledge,
    engine, audit file."""
    check_authentication(settings)
    packs = load_knowledge(settings)
    try:
        Evaluator(packs, settings.link_settings)  # compiles every rule into the engine's rulesets
    except ConditionError as error:  # name the rules the engine cannot take, where it is one's
        refusals = [problem for pack in packs for problem in engine_refusals(pack)]
        raise ConfigurationError(
            "GUIDANCE_KNOWLEDGE", "; ".join(str(p) for p in refusals) or str(error)
        ) from None
    check_audit_destination(settings)
    if auth_mode(settings) is AuthMode.OFF and not is_loopback(settings.host):
        log.warning(
            "authentication_off",
            host=settings.host,
            message="GUIDANCE_AUTH=off: no caller is authenticated; every request is recorded as "
            "client `unauthenticated`. Only behind a gateway that authenticates callers.",
        )
    return packs
