"""An example case for documentation (the OpenAPI request example): the Harry pre-birth facts.

Both parents were care leavers with histories of depression and childhood abuse or neglect and
limited family support; the midwife completing the cause-for-concern form left out what the
leaving-care worker had told her.
"""

from __future__ import annotations

from typing import Any

HARRY_PRE_BIRTH: dict[str, Any] = {
    "child": {"unborn": True},
    "parents": [
        {
            "role": role,
            "care_leaver": True,
            "childhood_abuse_or_neglect": True,
            "mental_health_history": True,
            "family_support": "limited",
        }
        for role in ("mother", "father")
    ],
    "cause_for_concern": {
        "completing_form": True,
        "holds_information_from_other_agencies": True,
        "information_from_other_agencies_included": False,
    },
}
