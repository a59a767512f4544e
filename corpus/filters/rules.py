"""Quality rules as data: a rule names a signal and a bound; a profile is an ordered rule list.

Profiles live in ``filters/quality/<name>.toml`` so reviewers read thresholds without reading
code, and a spec may override any threshold by rule name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from corpus.filters.signals import TIERS, known_signals, signal_tier
from corpus.resources import filters_dir
from corpus.stage import Rejection


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    """Keep a document only if ``min <= signal`` (for ``min``) or ``signal <= max`` (for ``max``)."""

    name: str
    signal: str
    bound: str  # "min" | "max"
    threshold: float
    origin: str = ""
    meaning: str = ""
    note: str = ""  # why this profile departs from the origin's threshold, if it does

    def judge(self, value: float) -> Rejection | None:
        failed = value < self.threshold if self.bound == "min" else value > self.threshold
        if not failed:
            return None
        op = ">=" if self.bound == "min" else "<="
        return Rejection(
            self.name, rule=self.name, value=float(value), threshold=self.threshold,
            detail=f"{self.signal}={value:.6g}, required {op} {self.threshold:g}",
        )


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    rules: tuple[Rule, ...]

    def signals(self) -> list[str]:
        return list(dict.fromkeys(r.signal for r in self.rules))

    def rules_by_cost(self) -> tuple[Rule, ...]:
        """Rules in evaluation order: cheaper signal tiers first, file order within a tier."""
        return tuple(sorted(self.rules, key=lambda r: TIERS.index(signal_tier(r.signal))))

    def with_thresholds(self, overrides: dict[str, float]) -> "Profile":
        names = {r.name for r in self.rules}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ProfileError(
                f"unknown rule(s) {unknown} for profile {self.name!r}; rules are {sorted(names)}"
            )
        rules = tuple(replace(r, threshold=float(overrides.get(r.name, r.threshold))) for r in self.rules)
        return replace(self, rules=rules)


def profile_path(name_or_path: str, base: Path | None = None) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml":
        return candidate if candidate.is_absolute() or base is None else base / candidate
    return filters_dir() / "quality" / f"{name_or_path}.toml"


def load_profile(name_or_path: str, base: Path | None = None) -> Profile:
    """Load and check a profile: every rule must name a known signal and exactly one bound."""
    path = profile_path(name_or_path, base)
    if not path.is_file():
        raise ProfileError(f"quality profile not found: {path}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    signals = set(known_signals())
    for i, r in enumerate(data.get("rules", [])):
        where = f"{path.name} rules[{i}]"
        if r.get("signal") not in signals:
            raise ProfileError(f"{where}: unknown signal {r.get('signal')!r}; known: {sorted(signals)}")
        bounds = [b for b in ("min", "max") if b in r]
        if len(bounds) != 1:
            raise ProfileError(f"{where}: give exactly one of 'min' or 'max'")
        if not r.get("name") or not r.get("origin"):
            raise ProfileError(f"{where}: every rule needs a 'name' and an 'origin' (which public corpus, which file)")
        rules.append(Rule(r["name"], r["signal"], bounds[0], float(r[bounds[0]]), r.get("origin", ""), r.get("meaning", ""), r.get("note", "")))
    dupes = sorted({r.name for r in rules if [x.name for x in rules].count(r.name) > 1})
    if dupes:
        raise ProfileError(f"{path.name}: rule names used twice: {dupes}")
    meta = data.get("profile", {})
    return Profile(meta.get("name", path.stem), meta.get("description", ""), tuple(rules))
