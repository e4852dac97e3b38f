"""Unknown ``GATEWAY_*`` variables: a typo must not silently turn a feature off.

``GATEWAY_JIRA_WEBHOOK_SECRT`` leaves the webhook secret unset without a word
from pydantic-settings, which ignores names it does not know. Every command
warns about such names, with a "did you mean" when a setting's name is close,
and ``gateway check`` lists them as failures.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from gateway.settings import ENV_PREFIX, Settings

# GATEWAY_* variables that are not settings but are read elsewhere on purpose: the CLI's
# credential inputs, compose's interpolation, the shared test clock, the test runs.
NON_SETTING_VARIABLES = frozenset(
    {
        "GATEWAY_NEW_PF_API_KEY",
        "GATEWAY_NEW_JIRA_API_TOKEN",
        "GATEWAY_PORT",
        "GATEWAY_IMAGE",
        "GATEWAY_CLOCK_OFFSET_FILE",
        "GATEWAY_TEST_DATABASE_URL",
        "GATEWAY_SOAK_EXAMPLES",
        "GATEWAY_SOAK_STEPS",
    }
)


def setting_variables() -> frozenset[str]:
    """The environment variable of every setting."""
    return frozenset(f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields)


def _env_file_names(env_file: Path) -> set[str]:
    if not env_file.is_file():
        return set()
    return {name for name in dotenv_values(env_file) if name}


def unknown_variables(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> list[str]:
    """Every ``GATEWAY_*`` name in the environment or ``.env`` that no setting reads,
    each with a "did you mean" when a setting's name is close (a typo silently turns a
    feature off: ``GATEWAY_JIRA_WEBHOOK_SECRT`` leaves the webhook secret unset)."""
    environ = os.environ if environ is None else environ
    names = {name.upper() for name in environ}
    if env_file is not None:
        names |= {name.upper() for name in _env_file_names(env_file)}
    settings = setting_variables()
    lines = []
    for name in sorted(n for n in names if n.startswith(ENV_PREFIX)):
        if name in settings or name in NON_SETTING_VARIABLES:
            continue
        close = difflib.get_close_matches(name, sorted(settings), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        lines.append(f"{name} is not a setting and is ignored{hint}")
    return lines
