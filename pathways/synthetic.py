"""Synthetic but realistic delivery data for the demo organisation and the benchmark.

One generator serves both, so the benchmark measures the shapes the demo shows: cases referred
over a period, steps completed mostly on time with site-specific slippage that can worsen month by
month (drift), high-risk follow-ups missed more often, an equity gap for people with a language
need that widens over time, missed contacts that trigger (or fail to trigger) escalation,
incomplete assessments completed later, outcomes, closures, and a share of events that reach us
days after they happened. Deterministic for a given seed. Pure Python: no Django imports.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

TIERS = ("low", "medium", "high")
TIER_WEIGHTS = (0.40, 0.35, 0.25)
ADVERSE_OUTCOMES = ("ed_attendance", "readmission")


@dataclass(frozen=True)
class SiteProfile:
    code: str
    referrals_per_day: float
    # Probability that a timed step is done late, at the start and at the end of the period:
    # a rising value is a site drifting away from the model.
    late_share_start: float
    late_share_end: float
    missed_share: float = 0.04
    # Extra lateness for people with a language need, growing over the period (the equity gap).
    language_gap_start: float = 0.0
    language_gap_end: float = 0.0
    # Periods of pressure: (from, until, referral multiplier, extra late share), e.g. a referral
    # surge that a short-staffed team cannot keep up with.
    surges: tuple[tuple[datetime, datetime, float, float], ...] = ()

    def surge_at(self, when: datetime) -> tuple[float, float]:
        """(referral multiplier, extra late share) in force at ``when``."""
        for start, end, factor, extra_late in self.surges:
            if start <= when < end:
                return factor, extra_late
        return 1.0, 0.0


@dataclass
class SyntheticCase:
    external_ref: str
    site: str
    pathway: str
    referral_at: datetime
    risk_tier: str
    attributes: dict


@dataclass
class SyntheticEvent:
    id: str
    case: str
    type: str
    occurred_at: datetime
    step: str | None = None
    data: dict | None = None
    # How long after it happened the partner system sent it.
    delay: timedelta = timedelta(0)


def _within_hours(step: dict, tier: str, anchor_prefix: str) -> float | None:
    for standard in step.get("time_standards", []):
        if standard["anchor"].startswith(anchor_prefix) and tier in standard.get("tiers", TIERS):
            return float(standard["within_hours"])
    return None


class Generator:
    def __init__(
        self,
        definitions: list[dict],
        sites: list[SiteProfile],
        start: datetime,
        end: datetime,
        seed: int = 2026,
        contacts: tuple[int, int] = (3, 7),
        escalation_prompted=None,
    ):
        self.definitions = definitions
        # Cases whose record prompts the escalation (a piloted change): a predicate on the
        # case, or None. Their escalations are drawn from a second generator, so every other
        # case's events stay exactly what this seed gives without the prompt.
        self.escalation_prompted = escalation_prompted
        self.prompt_rng = random.Random(seed + 1)
        self.sites = sites
        self.start = start
        self.end = end
        self.rng = random.Random(seed)
        self._event_counter = 0
        # How many contacts a case has after referral; the benchmark asks for fewer.
        self.contacts = contacts

    def _event_id(self) -> str:
        self._event_counter += 1
        return f"evt-{self._event_counter:08d}"

    def _progress(self, when: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        return min(max((when - self.start).total_seconds() / span, 0.0), 1.0)

    def cases(self) -> Iterator[tuple[SyntheticCase, list[SyntheticEvent]]]:
        rng = self.rng
        days = max((self.end - self.start).days, 1)
        number = 0
        for day in range(days):
            day_start = self.start + timedelta(days=day)
            for site in self.sites:
                # Poisson-ish arrivals around the site's daily rate.
                rate = site.referrals_per_day * site.surge_at(day_start)[0]
                count = int(rate) + (rng.random() < rate - int(rate))
                for _ in range(count):
                    number += 1
                    referral_at = day_start + timedelta(seconds=rng.randint(7 * 3600, 19 * 3600))
                    definition = self.definitions[number % len(self.definitions)]
                    case = SyntheticCase(
                        external_ref=f"{site.code[:1].upper()}-{number:07d}",
                        site=site.code,
                        pathway=definition["slug"],
                        referral_at=referral_at,
                        risk_tier=rng.choices(TIERS, TIER_WEIGHTS)[0],
                        attributes={
                            "language_need": rng.random() < 0.15,
                            "disability": rng.random() < 0.2,
                            "rurality": "rural" if rng.random() < 0.3 else "urban",
                            "housing": rng.choices(
                                ("stable", "unstable", "homeless"), (0.7, 0.22, 0.08)
                            )[0],
                        },
                    )
                    yield case, self._events(case, definition, site)

    def _late_share(self, case: SyntheticCase, site: SiteProfile) -> float:
        progress = self._progress(case.referral_at)
        share = site.late_share_start + (site.late_share_end - site.late_share_start) * progress
        if case.attributes["language_need"]:
            share += (
                site.language_gap_start
                + (site.language_gap_end - site.language_gap_start) * progress
            )
        share += site.surge_at(case.referral_at)[1]
        if case.risk_tier == "high":
            share *= 1.3
        return min(share, 0.95)

    def _completion(
        self, anchor: datetime, within: float, late_share: float, missed_share: float
    ) -> datetime | None:
        rng = self.rng
        roll = rng.random()
        if roll < missed_share:
            return None
        if roll < missed_share + late_share:
            return anchor + timedelta(hours=within * rng.uniform(1.05, 2.2))
        return anchor + timedelta(hours=within * rng.uniform(0.15, 0.95))

    def _prompted_completion(self, anchor: datetime, within: float) -> datetime | None:
        """A prompted escalation: rarely forgotten, mostly raised in time."""
        roll = self.prompt_rng.random()
        if roll < 0.03:
            return None
        if roll < 0.15:
            return anchor + timedelta(hours=within * self.prompt_rng.uniform(1.05, 2.2))
        return anchor + timedelta(hours=within * self.prompt_rng.uniform(0.15, 0.95))

    def _events(
        self, case: SyntheticCase, definition: dict, site: SiteProfile
    ) -> list[SyntheticEvent]:
        rng = self.rng
        events: list[SyntheticEvent] = []
        late_share = self._late_share(case, site)
        completed: dict[str, datetime] = {}
        missed_steps = 0

        def add(type_: str, when: datetime, step: str | None = None, data: dict | None = None):
            if when > self.end:
                return
            # Most events arrive within minutes; a few (5%) days later: late-arriving events.
            delay = (
                timedelta(days=rng.uniform(1, 4))
                if rng.random() < 0.05
                else timedelta(minutes=rng.uniform(1, 30))
            )
            events.append(
                SyntheticEvent(
                    self._event_id(), case.external_ref, type_, when, step, data or {}, delay
                )
            )

        for step in definition["steps"]:
            key, kind = step["key"], step["kind"]
            if any(
                s["anchor"] in ("contact_missed", "escalation_raised")
                for s in step.get("time_standards", [])
            ):
                continue  # event-anchored steps are generated with their anchors below
            anchor, within = None, None
            if (hours := _within_hours(step, case.risk_tier, "referral")) is not None:
                anchor, within = case.referral_at, hours
            else:
                for standard in step.get("time_standards", []):
                    upstream = standard["anchor"].removeprefix("step:")
                    applies = case.risk_tier in standard.get("tiers", TIERS)
                    if standard["anchor"].startswith("step:") and upstream in completed and applies:
                        anchor, within = completed[upstream], float(standard["within_hours"])
                        break
            if anchor is None:
                if kind == "closure" or not completed:
                    continue
                anchor, within = max(completed.values()), 24.0 * 7
            done = self._completion(anchor, within, late_share, site.missed_share)
            if done is None:
                missed_steps += 1
                continue
            if kind == "assessment":
                required = step.get("required_fields", [])
                if rng.random() < 0.12:
                    partial = {field: "recorded" for field in required[:-1]}
                    add("step_completed", done, key, {"complete": False, **partial})
                    done = done + timedelta(hours=rng.uniform(12, 96))
                add(
                    "step_completed",
                    done,
                    key,
                    {"complete": True, **{field: "recorded" for field in required}},
                )
            else:
                add("step_completed", done, key)
            completed[key] = done

        self._contacts(case, definition, late_share, add)
        if rng.random() < 0.1:
            new_tier = rng.choice([t for t in TIERS if t != case.risk_tier])
            add(
                "risk_tier_changed",
                case.referral_at + timedelta(days=rng.uniform(2, 20)),
                data={"risk_tier": new_tier},
            )
        adverse_risk = (
            0.04 + 0.05 * missed_steps + {"low": 0.0, "medium": 0.03, "high": 0.08}[case.risk_tier]
        )
        if rng.random() < adverse_risk:
            add(
                "outcome_recorded",
                case.referral_at + timedelta(days=rng.uniform(5, 40)),
                data={"outcome": rng.choice(ADVERSE_OUTCOMES)},
            )
        elif rng.random() < 0.5:
            add(
                "outcome_recorded",
                case.referral_at + timedelta(days=rng.uniform(20, 45)),
                data={"outcome": "stable_at_home"},
            )
        if rng.random() < 0.85:
            add("case_closed", case.referral_at + timedelta(days=rng.uniform(30, 60)))
        return events

    def _contacts(self, case, definition, late_share, add) -> None:
        rng = self.rng
        follow_up = next(
            (
                s
                for s in definition["steps"]
                if any(t["anchor"] == "contact_missed" for t in s.get("time_standards", []))
            ),
            None,
        )
        rule = (definition.get("escalation_rules") or [None])[0]
        escalation_step = next(
            (s["key"] for s in definition["steps"] if s["kind"] == "escalation"), None
        )
        when = case.referral_at
        missed_in_a_row = 0
        miss_probability = {"low": 0.08, "medium": 0.14, "high": 0.22}[case.risk_tier]
        for _ in range(rng.randint(*self.contacts)):
            when = when + timedelta(hours=rng.uniform(48, 120))
            if rng.random() >= miss_probability:
                add("contact_made", when)
                missed_in_a_row = 0
                continue
            add("contact_missed", when)
            missed_in_a_row += 1
            if follow_up is not None:
                within = _within_hours(follow_up, case.risk_tier, "contact_missed") or 24.0
                # High-risk follow-ups are the ones most often missed.
                extra = 0.15 if case.risk_tier == "high" else 0.0
                done = self._completion(when, within, late_share + extra, 0.05 + extra)
                if done is not None:
                    add("step_completed", done, follow_up["key"])
            if rule and missed_in_a_row >= rule["missed_contacts"]:
                within = float(rule["escalate_within_hours"])
                done = self._completion(when, within, late_share, 0.1)
                if self.escalation_prompted is not None and self.escalation_prompted(case):
                    done = self._prompted_completion(when, within)
                if done is not None:
                    add("escalation_raised", done)
                    if escalation_step:
                        add("step_completed", done + timedelta(minutes=5), escalation_step)
                missed_in_a_row = 0
