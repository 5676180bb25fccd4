"""What must hold before the service may listen: knowledge to serve, links it can use.

Each check raises :class:`ConfigurationError` naming the setting at fault and saying what to do,
so that ``guidance serve`` can refuse to start with one clear line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.audit.sinks import open_audit_sink
from service.checking.engine_fit import engine_refusals
from service.evaluation.evaluator import Evaluator
from service.packs.loader import PackError, UnknownPackError, load_packs
from service.packs.model import Pack
from service.settings import LINK_SETTING_PREFIX, ConfigurationError, Settings


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


def check_can_serve(settings: Settings) -> list[Pack]:
    """Everything a worker will need, tried once in the parent: knowledge, engine, audit file."""
    packs = load_knowledge(settings)
    refusals = [problem for pack in packs for problem in engine_refusals(pack)]
    if refusals:
        raise ConfigurationError("GUIDANCE_KNOWLEDGE", "; ".join(str(p) for p in refusals))
    Evaluator(packs, settings.link_settings)  # compiles every rule into the engine's rulesets
    check_audit_destination(settings)
    return packs
