"""`make mutate`: mutation testing of the guarantee core, one module at a time.

For each target of ``mutation/targets.toml`` this copies the working tree (tracked
and new files) to a scratch folder, configures mutmut there to mutate that one
module against that module's own fast tests, runs it, and reads the verdicts.
Every surviving mutant must be listed in ``mutation/equivalent.toml`` with the
reason it cannot be told apart from the original; one that is not listed makes
the run fail, with its diff printed so it can be killed by a new test instead.

    python -m mutation                      # every target
    python -m mutation signature routing    # some targets, by name
    python -m mutation --changed-since origin/main   # targets whose module or tests changed

The score of a module is killed / (mutants - equivalent): 100 % means every
mutant that changes behaviour fails at least one test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_FILE = ROOT / "mutation" / "targets.toml"
EQUIVALENT_FILE = ROOT / "mutation" / "equivalent.toml"
MUTMUT = Path(sys.executable).parent / "mutmut"
# Exit codes mutmut records per mutant (pytest's, plus its own for timeouts).
KILLED_CODES = {1, 3}
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
TIMEOUT_CODES = {36, 24, -24, 152, 255}
# mutmut's wall-clock limit per mutant is (the mutant's tests' own time + 1 s) times this.
TIMEOUT_MULTIPLIER = 3.0
_NAME = re.compile(r"^(?P<module>[\w.]+?)\.x(?:_|ǁ)(?P<function>.+?)__mutmut_(?P<n>\d+)$")


@dataclass(frozen=True)
class Target:
    name: str
    module: str
    tests: list[str]
    functions: list[str] = field(default_factory=list)

    @property
    def dotted(self) -> str:
        return self.module.removesuffix(".py").replace("/", ".")

    def mutant_globs(self) -> list[str]:
        """mutmut's names for the mutants of ``functions`` (all of the module when empty)."""
        if not self.functions:
            return [f"{self.dotted}.*"]
        globs = []
        for function in self.functions:
            owner, _, method = function.rpartition(".")
            local = f"xǁ{owner}ǁ{method}" if owner else f"x_{function}"
            globs.append(f"{self.dotted}.{local}__mutmut_*")
        return globs


@dataclass
class Outcome:
    target: Target
    killed: int = 0
    timeouts: int = 0
    equivalent: int = 0
    unexplained: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.killed + self.timeouts + self.equivalent + len(self.unexplained)

    @property
    def score(self) -> float:
        relevant = self.total - self.equivalent
        return 100.0 if relevant == 0 else 100.0 * (self.killed + self.timeouts) / relevant


def load_targets() -> list[Target]:
    data = tomllib.loads(TARGETS_FILE.read_text())
    return [Target(**entry) for entry in data["target"]]


def load_equivalents() -> list[dict[str, str]]:
    if not EQUIVALENT_FILE.exists():
        return []
    return list(tomllib.loads(EQUIVALENT_FILE.read_text()).get("equivalent", []))


def changed_targets(targets: list[Target], ref: str) -> list[Target]:
    """Targets whose module or tests differ from the merge base with ``ref``."""
    base = _git("merge-base", ref, "HEAD").strip()
    changed = set(_git("diff", "--name-only", base).split())
    changed |= set(_git("ls-files", "--others", "--exclude-standard").split())
    if any(path.startswith("mutation/") for path in changed):
        return targets  # the runner, the targets or the equivalent list changed
    return [t for t in targets if {t.module, *t.tests} & changed]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def scratch_copy(target: Target, into: Path) -> Path:
    """The working tree as it is (committed or not), configured for this target alone."""
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for relative in filter(None, listed):
        source = ROOT / relative
        if source.is_file() and not relative.startswith("mutation/"):
            (into / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / relative)
    config = {
        "source_paths": ["gateway"],
        "only_mutate": [target.module],
        "also_copy": ["fakes", "scenarios"],
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
        "pytest_add_cli_args_test_selection": target.tests,
        # A mutant that hangs (a lost wake-up, a loop that never ends) counts as killed
        # either way; mutmut's default waits 15x the tests' own time before saying so,
        # which made these few mutants most of the run's wall time.
        "timeout_multiplier": TIMEOUT_MULTIPLIER,
    }
    lines = ["", "[tool.mutmut]"] + [
        f"{key} = {json.dumps(value)}" for key, value in config.items()
    ]
    with (into / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")
    return into


def run_target(target: Target, equivalents: list[dict[str, str]], children: int) -> Outcome:
    outcome = Outcome(target)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutate-{target.name}-") as folder:
        work = scratch_copy(target, Path(folder))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["GATEWAY_HYPOTHESIS_PROFILE"] = "mutation"  # fewer examples per mutant
        command = [str(MUTMUT), "run", "--max-children", str(children), *target.mutant_globs()]
        run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        meta = work / "mutants" / f"{target.module}.meta"
        if not meta.exists():
            sys.stdout.write(run.stdout[-4000:] + run.stderr[-4000:])
            raise SystemExit(f"mutmut produced no results for {target.module}")
        verdicts = json.loads(meta.read_text())["exit_code_by_key"]
        wanted = [name for name in verdicts if _selected(target, name)]
        for name in sorted(wanted, key=_sort_key):
            _classify(outcome, work, name, verdicts[name], equivalents)
    outcome.seconds = time.monotonic() - started
    return outcome


def _selected(target: Target, name: str) -> bool:
    if not target.functions:
        return True
    match = _NAME.match(name)
    return match is not None and _function(match) in target.functions


def _function(match: re.Match[str]) -> str:
    return match["function"].replace("ǁ", ".").strip(".")


def _sort_key(name: str) -> tuple[str, int]:
    match = _NAME.match(name)
    return (name, 0) if match is None else (_function(match), int(match["n"]))


def _classify(
    outcome: Outcome, work: Path, name: str, code: int | None, equivalents: list[dict[str, str]]
) -> None:
    if code in KILLED_CODES:
        outcome.killed += 1
        return
    if code in TIMEOUT_CODES:
        outcome.timeouts += 1
        return
    diff = mutant_diff(work, name)
    if code in SURVIVED_CODES and is_equivalent(outcome.target, name, diff, equivalents):
        outcome.equivalent += 1
        return
    outcome.unexplained.append((f"{name}: {_verdict(code)}", diff))


def _verdict(code: int | None) -> str:
    """Why a mutant counts against the score; a mutant mutmut never ran is not a survivor."""
    if code is None:
        return "never run (mutmut stopped before reaching it; re-run the target)"
    if code in NO_TESTS_CODES:
        return "no test reaches it"
    return f"survived (exit {code})"


def mutant_diff(work: Path, name: str) -> str:
    shown = subprocess.run(
        [str(MUTMUT), "show", name], cwd=work, capture_output=True, text=True
    ).stdout
    return "\n".join(line for line in shown.splitlines() if line.startswith(("-", "+", "@")))


def mutated_lines(diff: str) -> str:
    """The mutant's own lines (the '+' side of its diff), whitespace-trimmed."""
    lines = [line[1:].strip() for line in diff.splitlines()]
    plus = [line for raw, line in zip(diff.splitlines(), lines, strict=True) if raw[:1] == "+"]
    return "\n".join(line for line in plus if not line.startswith("++"))


def is_equivalent(target: Target, name: str, diff: str, equivalents: list[dict[str, str]]) -> bool:
    match = _NAME.match(name)
    function = _function(match) if match else ""
    mutated = mutated_lines(diff)
    return any(
        entry["module"] == target.module
        and entry["function"] == function
        and entry["mutation"].strip() == mutated
        for entry in equivalents
    )


def report(outcomes: list[Outcome]) -> int:
    print()
    print(
        f"{'module':<34} {'mutants':>7} {'killed':>6} {'timeout':>7} {'equiv':>5} "
        f"{'unexpl':>6} {'score':>7} {'time':>6}"
    )
    for o in outcomes:
        print(
            f"{o.target.module:<34} {o.total:>7} {o.killed:>6} {o.timeouts:>7} "
            f"{o.equivalent:>5} {len(o.unexplained):>6} {o.score:>6.1f}% {o.seconds:>5.0f}s"
        )
    unexplained = [item for o in outcomes for item in o.unexplained]
    for title, diff in unexplained:
        print(f"\n{title}\n{diff}")
    if unexplained:
        print(
            f"\n{len(unexplained)} unexplained surviving mutants: kill each with a test, or "
            f"list it in {EQUIVALENT_FILE.relative_to(ROOT)} with the reason it is equivalent."
        )
        return 1
    print("\nno unexplained surviving mutant")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--changed-since", metavar="REF", help="only targets changed since REF")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    targets = load_targets()
    if args.names:
        unknown = set(args.names) - {t.name for t in targets}
        if unknown:
            parser.error(f"unknown targets {sorted(unknown)}; known: {[t.name for t in targets]}")
        targets = [t for t in targets if t.name in args.names]
    if args.changed_since:
        targets = changed_targets(targets, args.changed_since)
    if not targets:
        print("no target to mutate")
        return 0
    equivalents = load_equivalents()
    outcomes = []
    for target in targets:
        print(f"mutating {target.module} against {' '.join(target.tests)}", flush=True)
        outcome = run_target(target, equivalents, args.max_children)
        outcomes.append(outcome)
        print(
            f"  {outcome.total} mutants, {outcome.killed + outcome.timeouts} killed, "
            f"{outcome.equivalent} equivalent, {len(outcome.unexplained)} unexplained: "
            f"{outcome.score:.1f}% in {outcome.seconds:.0f} s",
            flush=True,
        )
    return report(outcomes)


if __name__ == "__main__":
    raise SystemExit(main())
