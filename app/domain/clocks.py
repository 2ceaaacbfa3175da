"""The regulatory clock engine: when each UM case must be decided, notified and noticed, and under which rule.

Specification: ../shared/reference/timeliness.md and issue 4 ("Regulatory clocks"). Rule sets are data in
``resources/rulesets.json`` (ids ``dhcs-medi-cal``, ``federal-medicaid-2026``, ``medicare-2026``); this module
implements how that data is read and counted. The business-day calendar is ``app.domain.calendar``.

Fixed readings (issue 4), each implemented by a small function below that cites it:

* Each clock is due at the EARLIEST due among the rule sets that apply, and names that rule set
  (``compute_clocks``). On a tie the rule set listed first in rulesets.json is named (our reading).
* Hour clocks are elapsed time on UTC instants (``Duration.after``); day clocks end at 23:59:59 plan time on
  the Nth day after the start day, the start day being day 0.
* ``dhcs-medi-cal`` deems a ROUTINE request received outside business hours received when business hours
  next open (``_start_of_count``); federal rule sets count from the actual receipt; urgent requests (and
  post-stabilization requests, always urgent) are never deemed.
* Extensions (``_extended_due``): dhcs urgent once to 14 calendar days from receipt, dhcs routine twice to 14
  then 28 days from receipt; federal sets once by up to 14 more calendar days; post-service never.
* Member notice: dhcs 2 business days after the decision, federal sets within the decision timeframe.
  Provider notification: dhcs 24 hours after the decision, capped for urgent and post-service requests by the
  decision timeframe from receipt; federal sets within the decision timeframe.
* Post-stabilization: 30 minutes (dhcs) / 1 hour (medicare); missed -> the care is deemed authorized.

Readings we chose where the specification is silent (also in docs/clocks.md):

* Before a decision, a notification or member-notice clock is given only when a receipt-based cap already
  fixes it: the decision timeframe (federal sets; dhcs urgent and post-service notification) or, for the
  dhcs member notice, the untimely-decision notice due at the end of the day the decision clock expires
  (42 CFR 438.404(c)(5)). Otherwise it is ``None`` until the decision is recorded.
* A clock is breached when it is completed after its due, or not completed and ``now`` is after its due.
  A completion exactly at the due is in time. Notification and member-notice completions are optional inputs.
* The "up to 14 more days" of a federal extension is taken in full; for an hour-based due (72 hours) it adds
  14 plan-local calendar days keeping the time of day.
* Post-service requests are counted as routine (they are never urgent), post-stabilization requests as urgent,
  whatever urgency was entered.
* Effective dates compare the plan-local date of the actual receipt.
* Every datetime the engine returns is an aware datetime in UTC. Python compares two datetimes that share
  one ZoneInfo by wall-clock time, which is wrong inside the repeated hour of a fall-back night; UTC
  instants always compare right. ``to_json`` and ``iso`` show them in plan time.
* ``compute_clocks`` and ``decision_due_for`` refuse more extensions than the most generous applicable rule
  set allows (``ExtensionRefused``); each rule set counts at most its own number (so the federal single
  extension caps a second dhcs extension).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from app.domain.calendar import BusinessCalendar, default_calendar

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
RULESETS_FILE = RESOURCES / "rulesets.json"
UTC = timezone.utc

LINES_OF_BUSINESS = ("medi-cal", "medicare")
TIMINGS = ("pre-service", "concurrent", "post-service", "post-stabilization")
URGENCIES = ("urgent", "routine")
CATEGORIES = ("medication", "other")
CLOCK_NAMES = ("decision", "notification", "member_notice")
EXTENSION_REASONS = ("member-request", "provider-request", "information-needed")
DURATION_UNITS = ("minutes", "hours", "calendar_days", "business_days")
EXTENSION_MODES = ("to-from-receipt", "add-to-due")


# ----- errors -----------------------------------------------------------------------------------------------
class ClockError(ValueError):
    """A request the engine cannot count; the message says what to change."""


class RuleDataError(ClockError):
    """resources/rulesets.json is malformed; the message names the place."""


class NoRuleSetApplies(ClockError):
    """No rule set in resources/rulesets.json covers the request."""


class ExtensionRefused(ClockError):
    """An extension that the applicable rule sets do not allow (42 CFR 438.210(d); H&SC 1367.01(h)(5))."""


# ----- the request ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClockRequest:
    """What the clocks depend on: line of business, timing, urgency, service category and the receipt instant."""

    lob: str
    timing: str
    urgency: str
    category: str
    received: datetime

    def __post_init__(self) -> None:
        _require_choice("lob", self.lob, LINES_OF_BUSINESS)
        _require_choice("timing", self.timing, TIMINGS)
        _require_choice("urgency", self.urgency, URGENCIES)
        _require_choice("category", self.category, CATEGORIES)
        _require_aware("received", self.received)


def _require_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ClockError(f"{name} '{value}' is not one of: {', '.join(allowed)}")


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise ClockError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClockError(f"{name} {value.isoformat()} has no time zone: give a timezone-aware datetime")


def effective_urgency(timing: str, urgency: str) -> str:
    """Urgency the clocks count with.

    Issue 4: post-stabilization requests are "always urgent, never deemed". Our reading: a post-service
    (retrospective) request is never urgent (the care was already received), so it is counted as routine.
    """
    if timing == "post-stabilization":
        return "urgent"
    if timing == "post-service":
        return "routine"
    return urgency


# ----- rule data --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Duration:
    """A timeframe from a start instant: elapsed minutes/hours, or plan-local calendar/business days."""

    unit: str
    amount: int
    delta: timedelta | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.unit == "minutes":
            object.__setattr__(self, "delta", timedelta(minutes=self.amount))
        elif self.unit == "hours":
            object.__setattr__(self, "delta", timedelta(hours=self.amount))

    @property
    def is_elapsed(self) -> bool:
        return self.delta is not None

    def after(self, start: datetime, cal: BusinessCalendar) -> datetime:
        """The due (a UTC instant) of this timeframe counted from ``start`` (aware).

        Issue 4: "Hour-based clocks (72 h, 24 h) are elapsed time on UTC instants" -- so across a daylight-saving
        change the plan-local result moves by an hour. "A day-based clock is due at the end of that plan-local day
        (23:59:59 America/Los_Angeles). The day of receipt is day 0."
        """
        if self.delta is not None:
            return start.astimezone(UTC) + self.delta
        return _day_due(cal, start.astimezone(cal.tz).date(), self.unit, self.amount)

    def describe(self) -> str:
        return f"{self.amount} {self.unit.replace('_', ' ')}"


@lru_cache(maxsize=65536)
def _day_due(cal: BusinessCalendar, start_day: date, unit: str, amount: int) -> datetime:
    """End (23:59:59 plan time, as a UTC instant) of the ``amount``-th calendar or business day after
    ``start_day`` (day 0). Issue 4: "5 business days" is the end of the 5th business day after the receipt day,
    "7 calendar days" the end of the 7th day after it.

    Cached on (calendar, plan-local date, unit, count): a worklist holds few distinct receipt days.
    """
    if unit == "business_days":
        return cal.end_of_day(cal.add_business_days(start_day, amount)).astimezone(UTC)
    return cal.end_of_day(start_day + timedelta(days=amount)).astimezone(UTC)


@dataclass(frozen=True)
class ExtensionRule:
    """How many extensions a row allows and how far each moves the decision due."""

    max: int
    mode: str | None
    calendar_days: tuple[int, ...]
    cite: str


@dataclass(frozen=True)
class NoticeRule:
    """When a notice (provider notification or member written notice) is due under one rule set."""

    after_decision: Duration | None
    within_decision_timeframe: bool
    untimely_notice_same_day: bool
    cite: str


@dataclass(frozen=True, eq=False)  # identity hash: cheap cache keys
class Row:
    """One line of a rule set's table: which requests it covers and their timeframes."""

    name: str
    timings: frozenset[str]
    urgencies: frozenset[str]
    categories: frozenset[str]
    decision: Duration
    decision_cite: str
    extensions: ExtensionRule
    notification: NoticeRule | None
    member_notice: NoticeRule | None
    deemed_authorized_if_missed: bool = False

    def covers(self, timing: str, urgency: str, category: str) -> bool:
        return timing in self.timings and urgency in self.urgencies and category in self.categories


@dataclass(frozen=True, eq=False)  # identity hash: cheap cache keys
class RuleSet:
    """A named set of timeframes for some lines of business, effective on the received date."""

    id: str
    title: str
    source: str
    lines_of_business: frozenset[str]
    effective_from: date | None
    effective_until: date | None
    deem_urgencies: frozenset[str]
    deem_cite: str
    rows: tuple[Row, ...]

    def in_effect(self, received_day: date) -> bool:
        """Issue 4: each rule set has "an effective-from date on the received date" (plan-local date)."""
        if self.effective_from is not None and received_day < self.effective_from:
            return False
        if self.effective_until is not None and received_day >= self.effective_until:
            return False
        return True

    def row_for(self, timing: str, urgency: str, category: str) -> Row | None:
        """The first row covering the request, or None when this rule set does not cover it."""
        for row in self.rows:
            if row.covers(timing, urgency, category):
                return row
        return None


@dataclass(frozen=True, eq=False)  # identity hash: cheap cache keys
class Applied:
    """A rule set row that applies to one kind of request; ``deems`` when after-hours deeming applies."""

    rule_set: RuleSet
    row: Row
    deems: bool


def _parse_duration(raw: Any, where: str) -> Duration:
    if not isinstance(raw, Mapping):
        raise RuleDataError(f"{where}: expected an object like {{\"hours\": 72}}")
    units = [unit for unit in DURATION_UNITS if unit in raw]
    if len(units) != 1:
        raise RuleDataError(f"{where}: give exactly one of {', '.join(DURATION_UNITS)}")
    amount = raw[units[0]]
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise RuleDataError(f"{where}: {units[0]} must be a whole number >= 0, not {amount!r}")
    return Duration(units[0], amount)


def _parse_notice(raw: Any, where: str) -> NoticeRule | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise RuleDataError(f"{where}: expected an object or null")
    after = raw.get("after_decision")
    rule = NoticeRule(
        after_decision=_parse_duration(after, f"{where}.after_decision") if after is not None else None,
        within_decision_timeframe=bool(raw.get("within_decision_timeframe", False)),
        untimely_notice_same_day=bool(raw.get("untimely_notice_same_day", False)),
        cite=str(raw.get("cite", "")),
    )
    if rule.after_decision is None and not rule.within_decision_timeframe and not rule.untimely_notice_same_day:
        raise RuleDataError(f"{where}: sets no due; give after_decision or within_decision_timeframe, or use null")
    return rule


def _parse_extensions(raw: Any, where: str) -> ExtensionRule:
    if raw is None:
        return ExtensionRule(0, None, (), "")
    count = raw.get("max", 0)
    if not isinstance(count, int) or count < 0:
        raise RuleDataError(f"{where}.max must be a whole number >= 0")
    if count == 0:
        return ExtensionRule(0, None, (), str(raw.get("cite", "")))
    mode = raw.get("mode")
    if mode not in EXTENSION_MODES:
        raise RuleDataError(f"{where}.mode must be one of {', '.join(EXTENSION_MODES)}")
    days = raw.get("calendar_days")
    days = tuple(days) if isinstance(days, list) else (days,)
    if not all(isinstance(d, int) and d > 0 for d in days):
        raise RuleDataError(f"{where}.calendar_days must be positive whole numbers")
    if mode == "to-from-receipt" and len(days) != count:
        raise RuleDataError(f"{where}: 'to-from-receipt' needs one calendar_days entry per extension ({count})")
    if mode == "to-from-receipt" and list(days) != sorted(days):
        raise RuleDataError(f"{where}.calendar_days must not decrease")
    if mode == "add-to-due" and len(days) != 1:
        raise RuleDataError(f"{where}: 'add-to-due' takes one calendar_days number")
    return ExtensionRule(count, mode, days, str(raw.get("cite", "")))


def _parse_choices(raw: Any, allowed: tuple[str, ...], where: str) -> frozenset[str]:
    values = frozenset(raw or ())
    unknown = values - set(allowed)
    if unknown or not values:
        raise RuleDataError(f"{where}: give a non-empty list out of {', '.join(allowed)} (got {sorted(values)})")
    return values


def _parse_row(raw: Mapping[str, Any], where: str) -> Row:
    if "decision" not in raw:
        raise RuleDataError(f"{where}: a row needs a 'decision' timeframe")
    return Row(
        name=str(raw.get("name", where)),
        timings=_parse_choices(raw.get("timings"), TIMINGS, f"{where}.timings"),
        urgencies=_parse_choices(raw.get("urgencies"), URGENCIES, f"{where}.urgencies"),
        categories=_parse_choices(raw.get("categories"), CATEGORIES, f"{where}.categories"),
        decision=_parse_duration(raw["decision"], f"{where}.decision"),
        decision_cite=str(raw["decision"].get("cite", "")),
        extensions=_parse_extensions(raw.get("extensions"), f"{where}.extensions"),
        notification=_parse_notice(raw.get("notification"), f"{where}.notification"),
        member_notice=_parse_notice(raw.get("member_notice"), f"{where}.member_notice"),
        deemed_authorized_if_missed=bool(raw.get("deemed_authorized_if_missed", False)),
    )


def _parse_optional_date(raw: Any, where: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError as error:
        raise RuleDataError(f"{where}: '{raw}' is not a date like 2026-01-01") from error


def _parse_rule_set(raw: Mapping[str, Any], where: str) -> RuleSet:
    if not raw.get("id"):
        raise RuleDataError(f"{where}: a rule set needs an 'id'")
    where = f"rule set '{raw['id']}'"
    deem = raw.get("deem_after_hours") or {}
    return RuleSet(
        id=str(raw["id"]),
        title=str(raw.get("title", raw["id"])),
        source=str(raw.get("source", "")),
        lines_of_business=_parse_choices(raw.get("lines_of_business"), LINES_OF_BUSINESS,
                                         f"{where}.lines_of_business"),
        effective_from=_parse_optional_date(raw.get("effective_from"), f"{where}.effective_from"),
        effective_until=_parse_optional_date(raw.get("effective_until"), f"{where}.effective_until"),
        deem_urgencies=frozenset(deem.get("urgencies", ())) & set(URGENCIES),
        deem_cite=str(deem.get("cite", "")),
        rows=tuple(_parse_row(row, f"{where}.rows[{i}]") for i, row in enumerate(raw.get("rows", []))),
    )


@dataclass(frozen=True, eq=False)  # identity hash: cheap cache keys
class Coverage:
    """The rule sets that apply to one kind of request on one received day, precomputed once and cached."""

    applied: tuple[Applied, ...]
    ids: tuple[str, ...]
    allowed_extensions: int
    limits: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, applied: tuple[Applied, ...]) -> "Coverage":
        return cls(
            applied=applied,
            ids=tuple(one.rule_set.id for one in applied),
            allowed_extensions=max((one.row.extensions.max for one in applied), default=0),
            limits=tuple((one.rule_set.id, one.row.extensions.max) for one in applied),
        )


class RuleBook:
    """The rule sets in force, with the calendar they count business days on."""

    def __init__(self, rule_sets: tuple[RuleSet, ...], calendar: BusinessCalendar,
                 appeal_rule_sets: tuple["AppealRuleSet", ...] = ()):
        ids = [rule_set.id for rule_set in rule_sets] + [rule_set.id for rule_set in appeal_rule_sets]
        if len(set(ids)) != len(ids):
            raise RuleDataError(f"rule set ids must be unique: {ids}")
        self.rule_sets = tuple(rule_sets)
        self.appeal_rule_sets = tuple(appeal_rule_sets)  # issue 13: the appeal clocks (see "appeals" below)
        self.calendar = calendar
        self.tz = calendar.tz
        self.coverage = lru_cache(maxsize=16384)(self._coverage)

    def applicable(self, lob: str, timing: str, urgency: str, category: str,
                   received_day: date) -> tuple[Applied, ...]:
        """Every rule set (in file order) that covers the request, with its matching row.

        Issue 4: a rule set applies by line of business, effective-from date on the received date and the
        timings/urgencies/categories its rows cover (federal sets: not post-service, not drugs).
        """
        return self.coverage(lob, timing, urgency, category, received_day).applied

    def _coverage(self, lob: str, timing: str, urgency: str, category: str, received_day: date) -> Coverage:
        urgency = effective_urgency(timing, urgency)
        found = []
        for rule_set in self.rule_sets:
            if lob not in rule_set.lines_of_business or not rule_set.in_effect(received_day):
                continue
            row = rule_set.row_for(timing, urgency, category)
            if row is not None:
                found.append(Applied(rule_set, row, deems=urgency in rule_set.deem_urgencies))
        return Coverage.of(tuple(found))

    def coverage_of(self, request: ClockRequest, received_local: datetime) -> Coverage:
        """The cached coverage of ``request``; NoRuleSetApplies (with what to do) when nothing covers it."""
        found = self.coverage(request.lob, request.timing, request.urgency, request.category,
                              received_local.date())
        if not found.applied:
            raise NoRuleSetApplies(
                f"no rule set in {RULESETS_FILE.name} covers a {request.lob} {request.urgency} {request.timing} "
                f"{request.category} request received {received_local.date().isoformat()} (plan date): "
                "check the line of business and received date, or add a rule set (docs/clocks.md)"
            )
        return found

    def applicable_to(self, request: ClockRequest) -> tuple[Applied, ...]:
        return self.coverage_of(request, request.received.astimezone(self.tz)).applied

    def get(self, rule_set_id: str) -> RuleSet:
        for rule_set in self.rule_sets:
            if rule_set.id == rule_set_id:
                return rule_set
        raise KeyError(rule_set_id)


def rule_book_from_data(data: Mapping[str, Any], calendar: BusinessCalendar | None = None) -> RuleBook:
    """Build a RuleBook from the JSON structure of ``resources/rulesets.json``."""
    raw_sets = data.get("rule_sets")
    if not isinstance(raw_sets, list) or not raw_sets:
        raise RuleDataError("'rule_sets' must be a non-empty list")
    rule_sets = tuple(_parse_rule_set(raw, f"rule_sets[{i}]") for i, raw in enumerate(raw_sets))
    raw_appeals = data.get("appeal_rule_sets") or []
    if not isinstance(raw_appeals, list):
        raise RuleDataError("'appeal_rule_sets' must be a list")
    appeal_sets = tuple(_parse_appeal_rule_set(raw, f"appeal_rule_sets[{i}]") for i, raw in enumerate(raw_appeals))
    return RuleBook(rule_sets, calendar or default_calendar(), appeal_sets)


def load_rule_book(path: Path | str | None = None, calendar: BusinessCalendar | None = None) -> RuleBook:
    """Read a rule set file (default ``resources/rulesets.json``)."""
    source = Path(path) if path is not None else RULESETS_FILE
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RuleDataError(f"rule set file {source} is missing") from error
    except json.JSONDecodeError as error:
        raise RuleDataError(f"{source}: not valid JSON ({error})") from error
    try:
        return rule_book_from_data(data, calendar)
    except RuleDataError as error:
        raise RuleDataError(f"{source}: {error}") from error


_default_book: RuleBook | None = None


def default_rule_book() -> RuleBook:
    """Rule sets from ``resources/rulesets.json`` with the default plan calendar, loaded once per process."""
    global _default_book
    if _default_book is None:
        _default_book = load_rule_book()
    return _default_book


def reload_rule_book() -> RuleBook:
    """Re-read resources/holidays.json and resources/rulesets.json after an administrator edited them."""
    from app.domain.calendar import reload_default_calendar

    global _default_book
    _default_book = load_rule_book(calendar=reload_default_calendar())
    for cached in (_day_due, _undecided_day_dues, _extension_limit):
        cached.cache_clear()
    return _default_book


# ----- counting, one rule set at a time ---------------------------------------------------------------------
def _start_of_count(applied: Applied, received: datetime, cal: BusinessCalendar) -> datetime:
    """The instant this rule set's clocks count from (``received`` in plan time).

    Issue 4 / plan UM program: under ``dhcs-medi-cal`` a ROUTINE request received outside business hours
    (Mon-Fri 08:00-17:00 plan time) is deemed received when business hours next open: 08:00 the same day if
    before 08:00 on a business day, otherwise 08:00 the next business day. "Federal clocks always count from
    actual receipt, and urgent requests are never deemed" (``applied.deems`` is False for them).
    """
    if applied.deems:
        return cal.next_opening(received)
    return received


def _extended_due(applied: Applied, start: datetime, base_due: datetime, extensions: int,
                  cal: BusinessCalendar) -> datetime:
    """The decision due after ``extensions`` extensions under one rule set (each set counts up to its own max).

    * ``to-from-receipt`` (dhcs, H&SC 1367.01(h)(5), plan table): extension k moves the due to the end of the
      ``calendar_days[k-1]``-th day from receipt (deemed receipt for routine requests): urgent once to 14,
      routine twice to 14 then 28.
    * ``add-to-due`` (42 CFR 438.210(d)(1)(ii), (d)(2)(ii); 42 CFR 422.568(b), 422.572(b)): each extension
      adds up to 14 calendar days to the unextended due; we take the full 14 plan-local days, keeping the time
      of day of an hour-based due (our reading).
    * An extension never makes the due earlier than the unextended one.
    """
    rule = applied.row.extensions
    taken = extensions if extensions < rule.max else rule.max
    if taken <= 0:
        return base_due
    if rule.mode == "to-from-receipt":
        extended = _day_due(cal, start.astimezone(cal.tz).date(), "calendar_days", rule.calendar_days[taken - 1])
    else:
        extended = _add_plan_days(base_due, rule.calendar_days[0] * taken, cal)
    return extended if extended > base_due else base_due


def _add_plan_days(instant: datetime, days: int, cal: BusinessCalendar) -> datetime:
    """``instant`` moved by ``days`` plan-local calendar days, same wall-clock time, as a UTC instant."""
    local = instant.astimezone(cal.tz)
    moved = local.replace(tzinfo=None) + timedelta(days=days)
    return moved.replace(tzinfo=cal.tz).astimezone(UTC)


def _decision_due(applied: Applied, received: datetime, extensions: int,
                  cal: BusinessCalendar) -> tuple[datetime, datetime]:
    """(start of count, decision due) under one rule set: the row's timeframe, then any extensions.
    ``received`` in plan time; the start is in plan time, the due a UTC instant."""
    start = _start_of_count(applied, received, cal)
    due = applied.row.decision.after(start, cal)
    if extensions:
        due = _extended_due(applied, start, due, extensions, cal)
    return start, due


def _notice_due(rule: NoticeRule | None, decision_due: datetime, decided: datetime | None,
                cal: BusinessCalendar) -> datetime | None:
    """A notice due under one rule set; None when the rule set sets none yet.

    * ``within_decision_timeframe`` -- the notice is due no later than the (possibly extended) decision due:
      federal sets (42 CFR 438.404(c)(3), 438.210(d); 42 CFR 422.568(b), 422.572(a)), and the dhcs receipt
      caps "no later than 72 hours of receipt" (urgent, H&SC 1367.01(h)(3)) and "no later than 30 calendar days
      from receipt" (post-service).
    * ``after_decision`` -- counted from the decision once it is recorded: dhcs provider notification 24 hours
      (H&SC 1367.01(h)(3)); dhcs member written notice 2 business days (plan UM program).
    * ``untimely_notice_same_day`` -- no decision by the decision due (or a late one): the untimely-decision
      notice is due at the end of the plan-local day the decision timeframe expires (42 CFR 438.404(c)(5)).
    The earliest of those that apply is the due.
    """
    if rule is None:
        return None
    best = decision_due if rule.within_decision_timeframe else None
    if decided is not None and rule.after_decision is not None:
        after = rule.after_decision.after(decided, cal)
        if best is None or after < best:
            best = after
    if rule.untimely_notice_same_day and (decided is None or decided > decision_due):
        untimely = _day_due(cal, decision_due.astimezone(cal.tz).date(), "calendar_days", 0)
        if best is None or untimely < best:
            best = untimely
    return best


def _undecided_dues(applied: Applied, start: datetime, extensions: int,
                    cal: BusinessCalendar) -> tuple[datetime, datetime | None, datetime | None]:
    """(decision, notification, member notice) dues under one rule set while no decision is recorded.

    Same rules as ``_decision_due`` and ``_notice_due``; for a day-based decision row the three depend only on
    the plan-local start day, so they are cached on it (``_undecided_day_dues``)."""
    if applied.row.decision.is_elapsed:
        base = applied.row.decision.after(start, cal)
        due = _extended_due(applied, start, base, extensions, cal) if extensions else base
        return (due, _notice_due(applied.row.notification, due, None, cal),
                _notice_due(applied.row.member_notice, due, None, cal))
    return _undecided_day_dues(applied, start.date(), extensions, cal)


@lru_cache(maxsize=65536)
def _undecided_day_dues(applied: Applied, start_day: date, extensions: int,
                        cal: BusinessCalendar) -> tuple[datetime, datetime | None, datetime | None]:
    start = cal.opening(start_day)  # any instant of the start day: a day-based row only uses its date
    base = applied.row.decision.after(start, cal)
    due = _extended_due(applied, start, base, extensions, cal) if extensions else base
    return (due, _notice_due(applied.row.notification, due, None, cal),
            _notice_due(applied.row.member_notice, due, None, cal))


@dataclass(frozen=True)
class RuleSetClocks:
    """The clocks under one rule set alone (before the earliest-wins choice); for the case view and tests."""

    rule_set: str
    row: str
    start: datetime
    decision_due: datetime
    notification_due: datetime | None
    member_notice_due: datetime | None
    max_extensions: int


# ----- results ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExtensionLimit:
    """How many extensions the request may have: the most generous applicable rule set's number
    (``allowed``); ``by_rule_set`` gives each set's own limit (a stricter set stops counting at its own)."""

    allowed: int
    taken: int
    by_rule_set: tuple[tuple[str, int], ...]

    @property
    def remaining(self) -> int:
        return max(0, self.allowed - self.taken)

    def to_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "taken": self.taken, "remaining": self.remaining,
                "by_rule_set": dict(self.by_rule_set)}


@lru_cache(maxsize=1024)
def _extension_limit(coverage: Coverage, taken: int) -> ExtensionLimit:
    return ExtensionLimit(coverage.allowed_extensions, taken, coverage.limits)


def iso(instant: datetime | None, cal: BusinessCalendar | None = None) -> str | None:
    """ISO 8601 in plan time with its offset, whole seconds (fractions dropped, not rounded), or None."""
    if instant is None:
        return None
    tz = (cal or default_calendar()).tz
    return instant.astimezone(tz).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Clocks:
    """Every clock of one case at ``now``; datetimes are aware UTC instants (show them with ``to_json``,
    ``iso`` or ``app.domain.plantime.format_instant``).

    ``*_rule`` names the rule set whose due is the earliest (the one that governs), ``*_cite`` its source.
    ``notification_due`` / ``member_notice_due`` are None while no rule set fixes them yet (see module doc).
    ``breached``: names out of decision, notification, member_notice past due at ``now``.
    ``deemed_authorized``: a post-stabilization decision was missed (H&SC 1371.4(a); 42 CFR 422.113(c)).
    ``untimely_decision``: any other missed decision, an adverse determination (42 CFR 438.404(c)(5)).
    """

    rule_sets: tuple[str, ...]
    received: datetime
    deemed_received: datetime
    decision_due: datetime
    decision_rule: str
    decision_cite: str
    notification_due: datetime | None
    notification_rule: str | None
    notification_cite: str | None
    member_notice_due: datetime | None
    member_notice_rule: str | None
    member_notice_cite: str | None
    decided: datetime | None
    extensions: int
    extension_limit: ExtensionLimit
    breached: tuple[str, ...]
    deemed_authorized: bool
    untimely_decision: bool
    now: datetime
    plan_tz: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """Exactly the ``umws deadlines --json`` object (issue 4, scope 2)."""
        return {
            "rule_sets": list(self.rule_sets),
            "deemed_received": self._iso(self.deemed_received),
            "decision_due": self._iso(self.decision_due),
            "decision_rule": self.decision_rule,
            "notification_due": self._iso(self.notification_due),
            "member_notice_due": self._iso(self.member_notice_due),
            "breached": list(self.breached),
        }

    def _iso(self, instant: datetime | None) -> str | None:
        """ISO 8601 in plan time with the plan offset, fractions of a second dropped, or None."""
        if instant is None:
            return None
        return instant.astimezone(self.plan_tz or default_calendar().tz).replace(microsecond=0).isoformat()

    def due(self, clock: str) -> datetime | None:
        """The due of ``clock`` (decision, notification or member_notice)."""
        if clock not in CLOCK_NAMES:
            raise KeyError(clock)
        return getattr(self, f"{clock}_due")

    def rule(self, clock: str) -> str | None:
        if clock not in CLOCK_NAMES:
            raise KeyError(clock)
        return getattr(self, f"{clock}_rule")





# ----- public API -------------------------------------------------------------------------------------------
def _book(rule_book: RuleBook | None) -> RuleBook:
    return rule_book or _default_book or default_rule_book()


def extension_limit_for(request: ClockRequest, *, rule_book: RuleBook | None = None) -> int:
    """Most extensions any applicable rule set allows (0 for post-service, post-stabilization, Part B drugs)."""
    book = _book(rule_book)
    return book.coverage_of(request, request.received.astimezone(book.tz)).allowed_extensions


def _check_extension_count(request: ClockRequest, extensions: int, coverage: Coverage) -> None:
    """Refuse an extension count no applicable rule set allows (issue 4: post-service never, dhcs urgent once,
    dhcs routine twice, federal once, Part B drugs and post-stabilization never)."""
    if not isinstance(extensions, int) or extensions < 0:
        raise ClockError(f"extensions must be a whole number, 0 or more, not {extensions!r}")
    allowed = coverage.allowed_extensions
    if extensions > allowed:
        if request.timing == "post-service":
            why = "post-service requests are never extended"
        elif allowed == 0:
            why = f"no applicable rule set ({', '.join(coverage.ids)}) allows an extension"
        else:
            why = f"the applicable rule sets allow at most {allowed} ({_limits_text(coverage)})"
        raise ExtensionRefused(f"{extensions} extension(s) refused: {why}")


def _limits_text(coverage: Coverage) -> str:
    return ", ".join(f"{rule_set} {limit}" for rule_set, limit in coverage.limits)


def _cached_coverage(request: ClockRequest, extensions: int,
                     rule_book: RuleBook | None) -> tuple[BusinessCalendar, datetime, Coverage]:
    """(calendar, receipt in plan time, the applicable rule sets) for the worklist-speed functions below: coverage
    cached per kind of request and received day; NoRuleSetApplies or ExtensionRefused as ``compute_clocks`` says."""
    book = rule_book or _default_book or default_rule_book()
    received = request.received.astimezone(book.tz)
    coverage = book.coverage(request.lob, request.timing, request.urgency, request.category, received.date())
    if not coverage.applied:
        book.coverage_of(request, received)  # raises NoRuleSetApplies with the explanation
    if extensions:
        _check_extension_count(request, extensions, coverage)
    return book.calendar, received, coverage


def decision_due_for(request: ClockRequest, extensions: int = 0, *, rule_book: RuleBook | None = None) -> datetime:
    """The decision due of ``request`` (a UTC instant, the earliest among the applicable rule sets), cheap
    enough for every open case: coverage is cached per kind of request and received day, day-level dues per
    plan-local start day. Same result as ``compute_clocks(request, extensions=...).decision_due``."""
    cal, received, coverage = _cached_coverage(request, extensions, rule_book)
    best = None
    for applied in coverage.applied:
        start = cal.next_opening(received) if applied.deems else received  # _start_of_count, inlined
        due = applied.row.decision.after(start, cal)
        if extensions:
            due = _extended_due(applied, start, due, extensions, cal)
        if best is None or due < best:
            best = due
    return best


def open_dues_for(request: ClockRequest, extensions: int = 0, *,
                  rule_book: RuleBook | None = None) -> tuple[datetime, datetime | None, datetime | None]:
    """(decision, notification, member notice) dues of an undecided request: each the earliest among the
    applicable rule sets (issue 4: "each clock is due at the earliest due among the rule sets that apply").

    The same three instants as ``compute_clocks(request, extensions=...)`` for a case with no decision yet, without
    the rule names, citations and breaches: what a worklist of every open case needs (issue 4, "All clocks for
    100,000 open cases in under 0.5 s"); a case whose rule names are shown calls ``compute_clocks``."""
    cal, received, coverage = _cached_coverage(request, extensions, rule_book)
    decision = notification = member = None
    for applied in coverage.applied:
        start = cal.next_opening(received) if applied.deems else received  # _start_of_count, inlined
        due, notice, member_notice = _undecided_dues(applied, start, extensions, cal)
        if decision is None or due < decision:
            decision = due
        if notice is not None and (notification is None or notice < notification):
            notification = notice
        if member_notice is not None and (member is None or member_notice < member):
            member = member_notice
    return decision, notification, member


def clocks_by_rule_set(request: ClockRequest, *, decided: datetime | None = None, extensions: int = 0,
                       rule_book: RuleBook | None = None) -> tuple[RuleSetClocks, ...]:
    """Each applicable rule set's own clocks, in rule-set order: what "the strictest rule wins" chose from.
    For the case view ("shows every clock and its rule set") and for tests. Datetimes are UTC instants."""
    book = _book(rule_book)
    cal = book.calendar
    received = request.received.astimezone(book.tz)
    coverage = book.coverage_of(request, received)
    _check_extension_count(request, extensions, coverage)
    decided_utc = _checked_decided(decided, request.received, book)
    result = []
    for applied in coverage.applied:
        start, decision_due = _decision_due(applied, received, extensions, cal)
        result.append(RuleSetClocks(
            rule_set=applied.rule_set.id,
            row=applied.row.name,
            start=start.astimezone(UTC),
            decision_due=decision_due,
            notification_due=_notice_due(applied.row.notification, decision_due, decided_utc, cal),
            member_notice_due=_notice_due(applied.row.member_notice, decision_due, decided_utc, cal),
            max_extensions=applied.row.extensions.max,
        ))
    return tuple(result)


def _utc(name: str, value: datetime) -> datetime:
    """``value`` as a UTC instant; a naive or non-datetime value is refused."""
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value
    _require_aware(name, value)
    return value.astimezone(UTC)


def _checked_decided(decided: datetime | None, received: datetime, book: RuleBook) -> datetime | None:
    """``decided`` as a UTC instant; refused when before the receipt."""
    if decided is None:
        return None
    decided = _utc("decided", decided)
    if decided < received:
        raise ClockError(
            f"decided {iso(decided, book.calendar)} is before received {iso(received, book.calendar)}: "
            "check both date-times"
        )
    return decided


def compute_clocks(
    request: ClockRequest,
    *,
    decided: datetime | None = None,
    extensions: int = 0,
    now: datetime | None = None,
    notified: datetime | None = None,
    member_notified: datetime | None = None,
    rule_book: RuleBook | None = None,
) -> Clocks:
    """All clocks of one request at ``now`` (default: the current instant). Datetimes out are UTC instants.

    ``decided``: when the decision was made (None: not yet). ``extensions``: extensions recorded so far
    (refused with ExtensionRefused beyond what the applicable rule sets allow). ``notified`` /
    ``member_notified``: when the provider notification / member written notice went out, if known (without
    them those clocks are breached once ``now`` passes their due).

    Issue 4: each clock is due at the earliest due among the rule sets that apply and names that rule set
    (a tie names the rule set listed first); a missed post-stabilization decision means the care is deemed
    authorized (H&SC 1371.4(a); 42 CFR 422.113(c)); any other missed decision is an adverse determination
    (42 CFR 438.404(c)(5)): ``untimely_decision``.
    """
    book = rule_book or _default_book or default_rule_book()
    cal = book.calendar
    received = request.received.astimezone(book.tz)
    received_utc = request.received.astimezone(UTC)
    coverage = book.coverage_of(request, received)
    if extensions:
        _check_extension_count(request, extensions, coverage)
    decided_utc = _checked_decided(decided, received_utc, book) if decided is not None else None
    now = datetime.now(UTC) if now is None else _utc("now", now)
    if notified is not None:
        notified = _utc("notified", notified)
    if member_notified is not None:
        member_notified = _utc("member_notified", member_notified)

    deemed = received_utc
    decision_due = notification_due = member_due = None
    decision_by = notification_by = member_by = None
    for applied in coverage.applied:
        start = _start_of_count(applied, received, cal)
        if applied.deems and deemed is received_utc:
            deemed = start.astimezone(UTC)  # issue 4: "the receipt the state day counts start from"
        if decided_utc is None:
            due, notice, member = _undecided_dues(applied, start, extensions, cal)
        else:
            base = applied.row.decision.after(start, cal)
            due = _extended_due(applied, start, base, extensions, cal) if extensions else base
            notice = _notice_due(applied.row.notification, due, decided_utc, cal)
            member = _notice_due(applied.row.member_notice, due, decided_utc, cal)
        if decision_due is None or due < decision_due:
            decision_due, decision_by = due, applied
        if notice is not None and (notification_due is None or notice < notification_due):
            notification_due, notification_by = notice, applied
        if member is not None and (member_due is None or member < member_due):
            member_due, member_by = member, applied

    breached = []
    if _past_due(decision_due, decided_utc, now):
        breached.append("decision")
    if _past_due(notification_due, notified, now):
        breached.append("notification")
    if _past_due(member_due, member_notified, now):
        breached.append("member_notice")
    decision_missed = bool(breached) and breached[0] == "decision"
    deemed_authorized = decision_missed and decision_by.row.deemed_authorized_if_missed
    return _new_clocks({
        "rule_sets": coverage.ids,
        "received": received_utc,
        "deemed_received": deemed,
        "decision_due": decision_due,
        "decision_rule": decision_by.rule_set.id,
        "decision_cite": decision_by.row.decision_cite,
        "notification_due": notification_due,
        "notification_rule": notification_by.rule_set.id if notification_by else None,
        "notification_cite": notification_by.row.notification.cite if notification_by else None,
        "member_notice_due": member_due,
        "member_notice_rule": member_by.rule_set.id if member_by else None,
        "member_notice_cite": member_by.row.member_notice.cite if member_by else None,
        "decided": decided_utc,
        "extensions": extensions,
        "extension_limit": _extension_limit(coverage, extensions),
        "breached": tuple(breached),
        "deemed_authorized": deemed_authorized,
        "untimely_decision": decision_missed and not deemed_authorized,
        "now": now,
        "plan_tz": book.tz,
    })


def _new_clocks(values: dict[str, Any]) -> Clocks:
    """Build a Clocks without the frozen dataclass __init__ (one object.__setattr__ per field, ~3 us):
    the values are already checked here, and the worklist computes 100,000 of these per refresh.
    Equality, repr and immutability are those of the dataclass."""
    clocks = object.__new__(Clocks)
    clocks.__dict__.update(values)
    return clocks


def _past_due(due: datetime | None, done: datetime | None, now: datetime) -> bool:
    """Past due: completed after the due, or not completed and ``now`` after the due. A completion exactly at
    the due is in time; a clock with no due is never breached."""
    if due is None:
        return False
    if done is not None:
        return done > due
    return now > due


@dataclass(frozen=True)
class ExtensionGrant:
    """An allowed extension: its number, the decision due before and after, and when its notice is due."""

    number: int
    reason: str
    requested_at: datetime
    previous_decision_due: datetime
    new_decision_due: datetime
    new_decision_rule: str
    notice_due: datetime


def check_extension(
    request: ClockRequest,
    *,
    reason: str,
    at: datetime,
    taken: int = 0,
    decided: datetime | None = None,
    rule_book: RuleBook | None = None,
) -> ExtensionGrant:
    """Validate one more extension of the decision clock, recorded at ``at``; raise ExtensionRefused if not allowed.

    42 CFR 438.210(d)(1)(ii), 438.404(c)(4); H&SC 1367.01(h)(5); issue 4:
    * only when the member or provider asks for it, or the plan needs information and the delay is in the
      member's interest: ``reason`` in member-request | provider-request | information-needed;
    * only before the current decision due (strictly), and never after the decision;
    * post-service requests are never extended; each rule set allows its own number (dhcs urgent 1, routine 2,
      federal 1, Part B drugs and post-stabilization 0);
    * refused when no applicable rule set would move the decision due (e.g. a second dhcs extension that the
      federal cap already reached);
    * the extension notice to member and provider is due before the current due: ``notice_due`` (our reading:
      the due in force when the extension is taken, i.e. the original due for the first extension).
    """
    book = _book(rule_book)
    if reason not in EXTENSION_REASONS:
        raise ExtensionRefused(
            f"reason '{reason}' is not allowed: give one of {', '.join(EXTENSION_REASONS)} "
            "(42 CFR 438.210(d)(1)(ii); H&SC 1367.01(h)(5))"
        )
    if request.timing == "post-service":
        raise ExtensionRefused("post-service requests are never extended (plan table; issue 4)")
    at = _utc("at", at)
    if not isinstance(taken, int) or taken < 0:
        raise ClockError(f"taken must be a whole number, 0 or more, not {taken!r}")
    coverage = book.coverage_of(request, request.received.astimezone(book.tz))
    allowed = coverage.allowed_extensions
    if taken >= allowed:
        raise ExtensionRefused(
            f"no further extension: {taken} taken, the applicable rule sets allow at most {allowed} "
            f"({_limits_text(coverage)})"
        )
    if decided is not None:
        raise ExtensionRefused("the request is already decided: an extension can only precede the decision")
    if at < request.received.astimezone(UTC):
        raise ExtensionRefused(f"extension time {iso(at, book.calendar)} is before the receipt")
    current = decision_due_for(request, taken, rule_book=book)
    if at >= current:
        raise ExtensionRefused(
            f"an extension must be recorded before the current decision due {iso(current, book.calendar)}; "
            "that due has passed: the missed decision is an adverse determination (42 CFR 438.404(c)(5))"
        )
    clocks = compute_clocks(request, extensions=taken + 1, now=at, rule_book=book)
    if clocks.decision_due <= current:
        raise ExtensionRefused(
            f"extension {taken + 1} would not move the decision due: {clocks.decision_rule} already caps it at "
            f"{iso(current, book.calendar)} (the strictest rule set wins)"
        )
    return ExtensionGrant(
        number=taken + 1,
        reason=reason,
        requested_at=at,
        previous_decision_due=current,
        new_decision_due=clocks.decision_due,
        new_decision_rule=clocks.decision_rule,
        notice_due=current,
    )


# ----- appeals (issue 13) -------------------------------------------------------------------------------------
# The clocks of an appeal of an adverse benefit determination, as the ``appeal_rule_sets`` of rulesets.json say
# (docs/appeals.md). Readings we chose, each in the function that implements it:
# * An appeal's clocks count from its actual receipt: no after-hours deeming (the plan's deeming rule is for
#   non-urgent authorization requests). Hour clocks are elapsed UTC time, day clocks end at 23:59:59 plan time on
#   the Nth day after the receipt day (day 0), as for every other clock of the engine.
# * A denied request for an expedited appeal moves it to the standard track: its clocks are counted again from the
#   same receipt (42 CFR 438.410(c)(1)).
# * The one extension adds the number of days the plan takes (1 to 14) to the unextended due, time of day kept;
#   it may be taken only before the current due, and only for a reason the row lists.
# * The Notice of Appeal Resolution is due within the resolution timeframe (42 CFR 438.408(b)): the "notice"
#   clock has the resolution's due and completes when the notice is sent.
# * The acknowledgement clock runs for the standard track only; a resolution notice sent before the
#   acknowledgement's due also acknowledges the appeal.
# * A missed resolution (or its notice) lets the member go to a State Hearing (deemed exhaustion, 42 CFR
#   438.408(c)(3)): ``state_hearing_deemed``.
APPEAL_TRACKS = ("expedited", "standard")
APPEAL_EXTENSION_REASONS = ("member-request", "information-needed")
APPEAL_CLOCK_NAMES = ("resolution", "notice", "acknowledgement")


@dataclass(frozen=True)
class AppealRow:
    """One track of an appeal rule set: its resolution timeframe, extension and acknowledgement."""

    track: str
    name: str
    resolution: Duration
    resolution_cite: str
    extension_max: int
    extension_days: int
    extension_reasons: frozenset[str]
    extension_cite: str
    acknowledgement: Duration | None
    acknowledgement_cite: str


@dataclass(frozen=True, eq=False)  # identity hash
class AppealRuleSet:
    id: str
    title: str
    source: str
    lines_of_business: frozenset[str]
    effective_from: date | None
    effective_until: date | None
    filing_days: int
    filing_cite: str
    continuation_days: int
    continuation_cite: str
    expedited_denied_notice: Duration
    expedited_denied_cite: str
    extension_notice: Duration
    extension_notice_cite: str
    rows: tuple[AppealRow, ...]

    def in_effect(self, received_day: date) -> bool:
        if self.effective_from is not None and received_day < self.effective_from:
            return False
        return self.effective_until is None or received_day < self.effective_until

    def row(self, track: str) -> AppealRow:
        for row in self.rows:
            if row.track == track:
                return row
        raise NoRuleSetApplies(f"appeal rule set '{self.id}' has no '{track}' row")


def _parse_calendar_days(raw: Any, where: str) -> tuple[int, str]:
    if not isinstance(raw, Mapping) or set(raw) - {"calendar_days", "cite"} or "calendar_days" not in raw:
        raise RuleDataError(f"{where}: expected an object like {{\"calendar_days\": 60, \"cite\": \"...\"}}")
    days = raw["calendar_days"]
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise RuleDataError(f"{where}.calendar_days must be a whole number >= 0, not {days!r}")
    return days, str(raw.get("cite", ""))


def _parse_appeal_row(raw: Any, where: str) -> AppealRow:
    if not isinstance(raw, Mapping):
        raise RuleDataError(f"{where}: expected an object")
    track = raw.get("track")
    if track not in APPEAL_TRACKS:
        raise RuleDataError(f"{where}.track must be one of {', '.join(APPEAL_TRACKS)}, not {track!r}")
    if "resolution" not in raw:
        raise RuleDataError(f"{where}: a row needs a 'resolution' timeframe")
    extension = raw.get("extension") or {"max": 0}
    count = extension.get("max", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count not in (0, 1):
        raise RuleDataError(f"{where}.extension.max must be 0 or 1 (an appeal is extended at most once)")
    days = extension.get("calendar_days", 0) if count else 0
    if count and (not isinstance(days, int) or isinstance(days, bool) or days <= 0):
        raise RuleDataError(f"{where}.extension.calendar_days must be a positive whole number")
    reasons = frozenset(extension.get("reasons") or ())
    if count and (not reasons or reasons - set(APPEAL_EXTENSION_REASONS)):
        raise RuleDataError(f"{where}.extension.reasons: give a non-empty list out of "
                            f"{', '.join(APPEAL_EXTENSION_REASONS)}")
    ack = raw.get("acknowledgement")
    return AppealRow(
        track=track, name=str(raw.get("name", track)),
        resolution=_parse_duration(raw["resolution"], f"{where}.resolution"),
        resolution_cite=str(raw["resolution"].get("cite", "")),
        extension_max=count, extension_days=days, extension_reasons=reasons,
        extension_cite=str(extension.get("cite", "")),
        acknowledgement=_parse_duration(ack, f"{where}.acknowledgement") if ack is not None else None,
        acknowledgement_cite=str(ack.get("cite", "")) if isinstance(ack, Mapping) else "",
    )


def _parse_appeal_rule_set(raw: Any, where: str) -> AppealRuleSet:
    if not isinstance(raw, Mapping) or not raw.get("id"):
        raise RuleDataError(f"{where}: an appeal rule set needs an 'id'")
    where = f"appeal rule set '{raw['id']}'"
    rows = tuple(_parse_appeal_row(row, f"{where}.rows[{i}]") for i, row in enumerate(raw.get("rows") or []))
    if sorted(row.track for row in rows) != sorted(APPEAL_TRACKS):
        raise RuleDataError(f"{where}.rows: give one row per track ({', '.join(APPEAL_TRACKS)})")
    filing, filing_cite = _parse_calendar_days(raw.get("filing"), f"{where}.filing")
    continuation, continuation_cite = _parse_calendar_days(raw.get("continuation"), f"{where}.continuation")
    denied, denied_cite = _parse_calendar_days(raw.get("expedited_denied_notice"),
                                               f"{where}.expedited_denied_notice")
    extended, extended_cite = _parse_calendar_days(raw.get("extension_notice"), f"{where}.extension_notice")
    return AppealRuleSet(
        id=str(raw["id"]), title=str(raw.get("title", raw["id"])), source=str(raw.get("source", "")),
        lines_of_business=_parse_choices(raw.get("lines_of_business"), LINES_OF_BUSINESS,
                                         f"{where}.lines_of_business"),
        effective_from=_parse_optional_date(raw.get("effective_from"), f"{where}.effective_from"),
        effective_until=_parse_optional_date(raw.get("effective_until"), f"{where}.effective_until"),
        filing_days=filing, filing_cite=filing_cite, continuation_days=continuation,
        continuation_cite=continuation_cite,
        expedited_denied_notice=Duration("calendar_days", denied), expedited_denied_cite=denied_cite,
        extension_notice=Duration("calendar_days", extended), extension_notice_cite=extended_cite, rows=rows,
    )


@dataclass(frozen=True)
class AppealRequest:
    """What an appeal's clocks depend on: the line of business, the track and the instant the plan received it."""

    lob: str
    expedited: bool
    received: datetime

    def __post_init__(self) -> None:
        _require_choice("lob", self.lob, LINES_OF_BUSINESS)
        _require_aware("received", self.received)

    @property
    def track(self) -> str:
        return "expedited" if self.expedited else "standard"


def appeal_rule_set_for(request: AppealRequest, *, rule_book: RuleBook | None = None) -> AppealRuleSet:
    """The first appeal rule set (in file order) for the line of business, in effect on the plan-local receipt day."""
    book = _book(rule_book)
    day = request.received.astimezone(book.tz).date()
    for rule_set in book.appeal_rule_sets:
        if request.lob in rule_set.lines_of_business and rule_set.in_effect(day):
            return rule_set
    raise NoRuleSetApplies(
        f"no appeal rule set in {RULESETS_FILE.name} covers a {request.lob} appeal received {day.isoformat()} "
        "(plan date): add one under 'appeal_rule_sets' (docs/appeals.md)")


@dataclass(frozen=True)
class AppealClocks:
    """The clocks of one appeal at ``now`` (UTC instants). ``breached`` names those of APPEAL_CLOCK_NAMES past due."""

    rule_set: str
    track: str
    received: datetime
    resolution_due: datetime
    resolution_cite: str
    notice_due: datetime
    acknowledgement_due: datetime | None
    acknowledgement_cite: str | None
    extension_days: int
    extension_max_days: int
    extensions_allowed: int
    resolved: datetime | None
    notice_sent: datetime | None
    acknowledged: datetime | None
    breached: tuple[str, ...]
    state_hearing_deemed: bool
    now: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_set": self.rule_set, "track": self.track,
            "resolution_due": iso(self.resolution_due), "resolution_cite": self.resolution_cite,
            "notice_due": iso(self.notice_due),
            "acknowledgement_due": iso(self.acknowledgement_due), "acknowledgement_cite": self.acknowledgement_cite,
            "extension_days": self.extension_days, "extension_max_days": self.extension_max_days,
            "extensions_allowed": self.extensions_allowed,
            "resolved": iso(self.resolved), "notice_sent": iso(self.notice_sent),
            "acknowledged": iso(self.acknowledged),
            "breached": list(self.breached), "state_hearing_deemed": self.state_hearing_deemed,
        }


def _appeal_due(row: AppealRow, received: datetime, extension_days: int, cal: BusinessCalendar) -> datetime:
    """The resolution due: the row's timeframe from receipt, plus the days of the extension (time of day kept)."""
    due = row.resolution.after(received, cal)
    return _add_plan_days(due, extension_days, cal) if extension_days else due


def compute_appeal_clocks(request: AppealRequest, *, extension_days: int = 0, resolved: datetime | None = None,
                          notice_sent: datetime | None = None, acknowledged: datetime | None = None,
                          now: datetime | None = None, rule_book: RuleBook | None = None) -> AppealClocks:
    """Every clock of an appeal at ``now`` (default: the current instant).

    42 CFR 438.408(b)-(c): expedited 72 hours, standard 30 calendar days from receipt, one extension of up to 14
    calendar days; 28 CCR 1300.68(d)(1): a standard appeal acknowledged in writing within 5 calendar days.
    ``extension_days``: the days the one extension added (0: none). ``resolved`` / ``notice_sent`` /
    ``acknowledged``: when the decision was made, its notice sent, the acknowledgement sent (None: not yet).
    """
    book = _book(rule_book)
    cal = book.calendar
    rule_set = appeal_rule_set_for(request, rule_book=book)
    row = rule_set.row(request.track)
    if not isinstance(extension_days, int) or isinstance(extension_days, bool) or extension_days < 0:
        raise ClockError(f"extension_days must be a whole number, 0 or more, not {extension_days!r}")
    if extension_days > row.extension_days:
        raise ExtensionRefused(f"{extension_days} extension days refused: the {row.name} may be extended by at most "
                               f"{row.extension_days} calendar days ({row.extension_cite.split(':')[0]})")
    received = _utc("received", request.received)
    now = datetime.now(UTC) if now is None else _utc("now", now)
    resolved = _utc("resolved", resolved) if resolved is not None else None
    notice_sent = _utc("notice_sent", notice_sent) if notice_sent is not None else None
    acknowledged = _utc("acknowledged", acknowledged) if acknowledged is not None else None
    for name, value in (("resolved", resolved), ("notice_sent", notice_sent), ("acknowledged", acknowledged)):
        if value is not None and value < received:
            raise ClockError(f"{name} {iso(value, cal)} is before the appeal was received {iso(received, cal)}")
    due = _appeal_due(row, received, extension_days, cal)
    ack_due = row.acknowledgement.after(received, cal) if row.acknowledgement is not None else None
    ack_done = acknowledged
    if ack_due is not None and notice_sent is not None and notice_sent <= ack_due and (
            ack_done is None or notice_sent < ack_done):
        ack_done = notice_sent  # a resolution notice in time acknowledges the appeal too (our reading)
    breached = []
    if _past_due(due, resolved, now):
        breached.append("resolution")
    if _past_due(due, notice_sent, now):
        breached.append("notice")
    if _past_due(ack_due, ack_done, now):
        breached.append("acknowledgement")
    return AppealClocks(
        rule_set=rule_set.id, track=row.track, received=received, resolution_due=due,
        resolution_cite=row.resolution_cite, notice_due=due, acknowledgement_due=ack_due,
        acknowledgement_cite=row.acknowledgement_cite or None, extension_days=extension_days,
        extension_max_days=row.extension_days, extensions_allowed=row.extension_max, resolved=resolved,
        notice_sent=notice_sent, acknowledged=ack_done, breached=tuple(breached),
        state_hearing_deemed="resolution" in breached or "notice" in breached, now=now)


@dataclass(frozen=True)
class AppealExtensionGrant:
    """An allowed appeal extension: the days it adds, the due before and after, when its written notice is due."""

    days: int
    reason: str
    requested_at: datetime
    previous_due: datetime
    new_due: datetime
    notice_due: datetime
    cite: str
    notice_cite: str


def check_appeal_extension(request: AppealRequest, *, reason: str, days: int, at: datetime, taken_days: int = 0,
                           resolved: datetime | None = None,
                           rule_book: RuleBook | None = None) -> AppealExtensionGrant:
    """One extension of an appeal's resolution clock, taken at ``at``; ExtensionRefused when not allowed.

    42 CFR 438.408(c)(1)-(2): once, by up to 14 calendar days, when the member asks for it or the plan shows that
    it needs information and how the delay is in the member's interest; before the current due; written notice of
    the reason within 2 calendar days, with the right to file a grievance."""
    book = _book(rule_book)
    rule_set = appeal_rule_set_for(request, rule_book=book)
    row = rule_set.row(request.track)
    if row.extension_max == 0:
        raise ExtensionRefused(f"the {row.name} is never extended (appeal rule set '{rule_set.id}')")
    if reason not in row.extension_reasons:
        raise ExtensionRefused(f"reason '{reason}' is not allowed for an appeal extension: give one of "
                               f"{', '.join(sorted(row.extension_reasons))} (42 CFR 438.408(c)(1))")
    if taken_days:
        raise ExtensionRefused("the appeal was already extended once; an appeal is extended only once "
                               "(42 CFR 438.408(c)(1))")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= row.extension_days:
        raise ExtensionRefused(f"an appeal extension adds 1 to {row.extension_days} calendar days, not {days!r}")
    if resolved is not None:
        raise ExtensionRefused("the appeal is already resolved: an extension can only precede the resolution")
    at = _utc("at", at)
    received = _utc("received", request.received)
    if at < received:
        raise ExtensionRefused(f"extension time {iso(at, book.calendar)} is before the appeal was received")
    current = _appeal_due(row, received, 0, book.calendar)
    if at >= current:
        raise ExtensionRefused(f"an extension must be taken before the resolution due {iso(current, book.calendar)}; "
                               "that due has passed: the member may ask for a State Hearing (42 CFR 438.408(c)(3))")
    return AppealExtensionGrant(
        days=days, reason=reason, requested_at=at, previous_due=current,
        new_due=_appeal_due(row, received, days, book.calendar),
        notice_due=rule_set.extension_notice.after(at, book.calendar), cite=row.extension_cite,
        notice_cite=rule_set.extension_notice_cite)


def expedited_denied_notice_due(request: AppealRequest, at: datetime, *,
                                rule_book: RuleBook | None = None) -> tuple[datetime, str]:
    """(due, cite) of the written notice that a request for an expedited appeal was denied, from the instant it was
    denied (42 CFR 438.410(c)(2): within 2 calendar days)."""
    book = _book(rule_book)
    rule_set = appeal_rule_set_for(request, rule_book=book)
    return rule_set.expedited_denied_notice.after(_utc("at", at), book.calendar), rule_set.expedited_denied_cite


@dataclass(frozen=True)
class FilingCheck:
    """Whether an appeal came in time: within ``filing_days`` calendar days of the notice date (plan-local dates)."""

    notice_date: date | None
    deadline: date | None
    received_day: date
    timely: bool
    days_late: int
    cite: str


def appeal_filing(request: AppealRequest, notice_date: date | None, *,
                  rule_book: RuleBook | None = None) -> FilingCheck:
    """42 CFR 438.402(c)(2)(ii): an appeal is timely when the plan receives it within 60 calendar days from the date
    on the notice; the 60th day after the notice date is the last. No notice on record: the window has not started,
    so the appeal is timely (our reading)."""
    book = _book(rule_book)
    rule_set = appeal_rule_set_for(request, rule_book=book)
    day = request.received.astimezone(book.tz).date()
    if notice_date is None:
        return FilingCheck(None, None, day, True, 0, rule_set.filing_cite)
    deadline = notice_date + timedelta(days=rule_set.filing_days)
    late = max(0, (day - deadline).days)
    return FilingCheck(notice_date, deadline, day, late == 0, late, rule_set.filing_cite)


@dataclass(frozen=True)
class ContinuationCheck:
    """Aid paid pending: the last plan-local day an appeal keeps a service that is being stopped or reduced."""

    deadline: date | None
    received_day: date
    timely: bool
    cite: str


def continuation_deadline(request: AppealRequest, notice_date: date | None, effective_date: date | None, *,
                          rule_book: RuleBook | None = None) -> ContinuationCheck:
    """42 CFR 438.420(a): benefits continue when the appeal is filed within 10 calendar days of the notice, or on or
    before the intended effective date of the termination or reduction, whichever is later. With neither date on
    record the 10 days have not started (timely, our reading)."""
    book = _book(rule_book)
    rule_set = appeal_rule_set_for(request, rule_book=book)
    day = request.received.astimezone(book.tz).date()
    candidates = [d for d in (notice_date + timedelta(days=rule_set.continuation_days) if notice_date else None,
                              effective_date) if d is not None]
    if not candidates:
        return ContinuationCheck(None, day, True, rule_set.continuation_cite)
    deadline = max(candidates)
    return ContinuationCheck(deadline, day, day <= deadline, rule_set.continuation_cite)
