"""Runnable consistency scenarios: the real gateway against faulty fakes, guarantees checked.

``python -m scenarios list`` names them; ``python -m scenarios run NAME`` runs one.
From Python: ``run_scenario("lost-webhooks", seed=1, tasks=10).passed``.
"""

from scenarios.result import Check, Knobs, ScenarioResult
from scenarios.runner import all_scenarios, get_scenario, run_scenario, run_scenario_async

__all__ = [
    "Check",
    "Knobs",
    "ScenarioResult",
    "all_scenarios",
    "get_scenario",
    "run_scenario",
    "run_scenario_async",
]
