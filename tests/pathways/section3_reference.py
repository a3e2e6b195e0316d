"""An independent reading of ../shared/DESIGN.md section 3, written from its text for the rule
kinds the pilot tests' definitions use, to check the engine against: one case, plain Python, no
pandas, nothing from ``pathways.engine``. Slow and literal on purpose.

Input: a pathway definition as its JSON (``steps`` with ``kind``, ``required_fields`` and
``time_standards``; ``escalation_rules``), the case's referral instant and tier, its events as
dicts (``type``, ``occurred_at``, ``step``, ``data``), and the cutoff T. Output: one dict per
obligation: ``source`` ("step" or "escalation"), ``step`` (the step's or the rule's key),
``anchor_at``, ``due_at``, ``completed_at`` and ``status`` at T (met, late, overdue, pending, or
void when the case was closed before the due instant)."""

from datetime import datetime, timedelta

ALL_TIERS = ("low", "medium", "high")


def _tier_at(referral_tier: str, events: list[dict], moment: datetime) -> str:
    """The referral tier, changed by ``risk_tier_changed`` events at their ``occurred_at``."""
    tier = referral_tier
    for event in events:
        if event["type"] == "risk_tier_changed" and event["occurred_at"] <= moment:
            tier = event["data"]["risk_tier"]
    return tier


def _complete(step: dict, event: dict) -> bool:
    """An assessment-kind record with ``data.complete == false`` or without every required field
    is an incomplete assessment: it does not complete its step."""
    if step["kind"] != "assessment":
        return True
    data = event.get("data") or {}
    if data.get("complete") is False:
        return False
    return all(field in data for field in step.get("required_fields", []))


def _completions(step: dict, events: list[dict]) -> list[datetime]:
    return [
        event["occurred_at"]
        for event in events
        if event["type"] == "step_completed"
        and event.get("step") == step["key"]
        and _complete(step, event)
    ]


def _status(due: datetime, completed: datetime | None, closed: datetime | None, cutoff) -> str:
    if closed is not None and due > closed:
        return "void"
    if completed is not None and completed <= due:
        return "met"
    if completed is not None:
        return "late"
    return "overdue" if due <= cutoff else "pending"


def reference_obligations(
    definition: dict,
    *,
    referral_at: datetime,
    risk_tier: str,
    events: list[dict],
    cutoff: datetime,
) -> list[dict]:
    # Only events with occurred_at <= T count at a cutoff T; order by occurred_at, never arrival.
    events = sorted(
        (e for e in events if e["occurred_at"] <= cutoff), key=lambda e: e["occurred_at"]
    )
    closures = [e["occurred_at"] for e in events if e["type"] == "case_closed"]
    closed = closures[0] if closures else None
    steps = {step["key"]: step for step in definition["steps"]}
    result = []

    def add(source, key, anchor, hours, completed):
        due = anchor + timedelta(hours=hours)
        result.append(
            {
                "source": source,
                "step": key,
                "anchor_at": anchor,
                "due_at": due,
                "completed_at": completed,
                "status": _status(due, completed, closed, cutoff),
            }
        )

    for step in definition["steps"]:
        done = _completions(step, events)
        for standard in step.get("time_standards", []):
            tiers = standard.get("tiers") or ALL_TIERS
            anchor_kind = standard["anchor"]
            if anchor_kind == "referral":
                anchors = [referral_at]
            elif anchor_kind.startswith("step:"):
                first = _completions(steps[anchor_kind[len("step:") :]], events)
                anchors = first[:1]
            else:  # contact_missed / escalation_raised: one per event
                anchors = [e["occurred_at"] for e in events if e["type"] == anchor_kind]
            for anchor in anchors:
                if _tier_at(risk_tier, events, anchor) not in tiers:
                    continue
                if anchor_kind == "referral" or anchor_kind.startswith("step:"):
                    completed = done[0] if done else None  # the first, at any time
                else:
                    later = [moment for moment in done if moment > anchor]
                    completed = later[0] if later else None
                add("step", step["key"], anchor, standard["within_hours"], completed)

    missed = [e["occurred_at"] for e in events if e["type"] == "contact_missed"]
    raised = [e["occurred_at"] for e in events if e["type"] == "escalation_raised"]
    for rule in definition.get("escalation_rules", []):
        tiers = rule.get("tiers") or ALL_TIERS
        window = timedelta(hours=rule["window_hours"])
        since = None  # after a met obligation only later missed contacts count
        counted = []
        for moment in missed:
            if since is not None and moment <= since:
                continue
            counted.append(moment)
            recent = [m for m in counted if m >= moment - window]
            if len(recent) < rule["missed_contacts"]:
                continue
            if _tier_at(risk_tier, events, moment) not in tiers:
                continue
            later = [r for r in raised if r > moment]
            completed = later[0] if later else None
            add("escalation", rule["key"], moment, rule["escalate_within_hours"], completed)
            if completed is None:
                break  # a new obligation starts only after this one is met
            since, counted = completed, []
    return result
