"""The service's own Prometheus series, and what each request adds to them.

Every label value comes from a fixed set or from the loaded knowledge (pack, rule, learning
point, version, digest): never a case reference, a value the caller chose, or anything else
unbounded. The series for each rule are made when the app is built, so a scrape lists every
rule at 0 before it first fires, and adding to one is a dictionary look-up and an increment.

Under several workers prometheus_client keeps each process's values in files of the folder
``PROMETHEUS_MULTIPROC_DIR`` names (``guidance serve`` sets it up) and adds them up per scrape.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

from service.audit.sinks import FILE_MISSING, FREE_SPACE_LOW, WRITE_FAILED
from service.evaluation.prompts import Prompt
from service.packs.model import Pack

APIS = ("rest", "cds-hooks")
ANSWERED, REFUSED_BAD_INPUT, REFUSED_AUDIT = "answered", "refused-bad-input", "refused-audit"
EVALUATION_OUTCOMES = (ANSWERED, REFUSED_BAD_INPUT, REFUSED_AUDIT)
FEEDBACK_OUTCOMES = ("accepted", "not_applicable", "already_done", "disagree", "overridden")
AUDIT_REASONS = (WRITE_FAILED, FILE_MISSING, FREE_SPACE_LOW)
# An evaluation takes tens of microseconds; the top buckets catch a stalled audit write.
DURATION_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5)

EVALUATIONS = Counter(
    "guidance_evaluations",
    "Evaluation requests by outcome: answered, refused for bad input (400, 413, 415), refused "
    "because the audit record could not be written (503)",
    ["api", "outcome"],
)
EVALUATION_SECONDS = Histogram(
    "guidance_evaluation_duration_seconds",
    "Time to evaluate and write the audit record, answered evaluations only",
    ["api"],
    buckets=DURATION_BUCKETS,
)
PROMPTS = Counter(
    "guidance_prompts_shown",
    "Prompts shown, by pack, rule and learning point",
    ["pack", "rule", "learning_point"],
)
FEEDBACK = Counter("guidance_feedback", "Feedback recorded, by outcome", ["api", "outcome"])
AUDIT_FAILURES = Counter(
    "guidance_audit_write_failures",
    "Audit records (evaluations and feedback) that could not be written, by reason",
    ["reason"],
)
PACKS = Gauge(
    "guidance_knowledge_pack_info",
    "The knowledge packs loaded (1 for each), with their version and digest",
    ["pack", "version", "digest"],
    multiprocess_mode="max",
)


class Metrics:
    """One app's handles on the series above, each looked up once."""

    def __init__(self, packs: Sequence[Pack]) -> None:
        for pack in packs:
            PACKS.labels(pack.id, pack.version, pack.digest).set(1)
        self._prompts = {
            rule.id: PROMPTS.labels(pack.id, rule.id, str(rule.learning_point))
            for pack in packs
            for rule in pack.rules
        }
        self._evaluations = {
            (api, outcome): EVALUATIONS.labels(api, outcome)
            for api in APIS
            for outcome in EVALUATION_OUTCOMES
        }
        self._seconds = {api: EVALUATION_SECONDS.labels(api) for api in APIS}
        self._feedback = {
            (api, outcome): FEEDBACK.labels(api, outcome) for api in APIS for outcome in FEEDBACK_OUTCOMES
        }
        self._audit_failures = {reason: AUDIT_FAILURES.labels(reason) for reason in AUDIT_REASONS}

    def answered(self, api: str, prompts: Sequence[Prompt], seconds: float) -> None:
        self._evaluations[api, ANSWERED].inc()
        self._seconds[api].observe(seconds)
        shown = self._prompts
        for prompt in prompts:
            counter = shown.get(prompt.id)
            if counter is not None:
                counter.inc()

    def refused_bad_input(self, api: str) -> None:
        self._evaluations[api, REFUSED_BAD_INPUT].inc()

    def refused_audit(self, api: str, reason: str) -> None:
        self._evaluations[api, REFUSED_AUDIT].inc()
        self.audit_failed(reason)

    def audit_failed(self, reason: str) -> None:
        self._audit_failures.get(reason, self._audit_failures[WRITE_FAILED]).inc()

    def feedback(self, api: str, outcome: str) -> None:
        counter = self._feedback.get((api, outcome))
        if counter is not None:
            counter.inc()
