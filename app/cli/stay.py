"""`umws stay ...`: inpatient and facility stays (issue 12) through the same services as the GUI's Stay tab.

    umws stay show TAR --json
    umws stay admit --as USER --member CIN --facility NPI --admitted ISO8601 --notified ISO8601 --level acute ...
    umws stay review TAR --as USER --approve-through DATE --next-review DATE --note TEXT
    umws stay discharge TAR --as USER --at ISO8601 --disposition NAME [--need dme ...]
    umws stay figures --from DATE --to DATE --json

Dates are plan-local days (2026-12-04); instants without an offset are plan time, as for `umws deadlines`.
Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule or by authority (the message says who may).
"""
from __future__ import annotations

import argparse
from datetime import date
from typing import Callable

from sqlalchemy import select

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json, warn
from app.cli.deadlines import parse_instant
from app.domain.authority import CRITERIA_RESULTS
from app.domain.plantime import format_instant
from app.domain.stays import ADMISSION_TYPES, DENIAL_BASES, DISCHARGE_NEEDS, DISPOSITIONS, LEVELS_OF_CARE
from app.services import stays as svc
from app.services.audit import AuditChainError, os_user, record_view
from app.store.stays import StayView, load_stay


def parse_day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{option} '{text}' is not a date: give one like 2026-12-04", EXIT_BAD_INPUT) from None


def register(sub) -> None:
    parser = sub.add_parser("stay", help="inpatient and facility stays: show, review, discharge, figures")
    actions = parser.add_subparsers(dest="stay_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    def action(name: str, help_text: str, handler: Callable, *, tar: bool = True,
               actor: bool = True) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text)
        if tar:
            p.add_argument("tar", help="TAR number of the stay")
        if actor:
            p.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting username")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        add_store_option(p)
        p.set_defaults(handler=handler)
        return p

    action("show", "the stay: admission, flags, the day ledger, next review", run_show, actor=False)

    admit = action("admit", "record an admission (a concurrent case with its stay)", run_admit, tar=False)
    admit.add_argument("--tar", default=None, help="TAR number (default: the next free one)")
    admit.add_argument("--member", required=True, metavar="CIN", help="the member's CIN")
    admit.add_argument("--facility", required=True, metavar="NPI", help="the facility's NPI")
    admit.add_argument("--admitted", required=True, metavar="ISO8601", help="admission date-time")
    admit.add_argument("--notified", required=True, metavar="ISO8601", help="when the facility notified the plan")
    admit.add_argument("--level", required=True, choices=list(LEVELS_OF_CARE), help="level of care")
    admit.add_argument("--type", dest="admission_type", choices=list(ADMISSION_TYPES), default="emergency")
    admit.add_argument("--days", type=int, default=1, help="days requested (from the admission day)")
    admit.add_argument("--lob", choices=("medi-cal", "medicare"), default="medi-cal")
    admit.add_argument("--urgency", choices=("urgent", "routine"), default="urgent")
    admit.add_argument("--attending", metavar="NPI", default=None, help="attending physician's NPI")
    admit.add_argument("--admitting", metavar="NPI", default=None, help="admitting physician's NPI")
    admit.add_argument("--diagnosis", action="append", default=[], metavar="CODE=TEXT",
                       help="admitting diagnosis, ICD-10-CM (repeatable)")
    admit.add_argument("--expected-discharge", metavar="DATE", default=None)

    request = action("request", "record the facility's request for more days", run_request)
    request.add_argument("--through", required=True, metavar="DATE", help="the last day asked for")
    request.add_argument("--note", default="")

    review = action("review", "a concurrent review approving days through a date", run_review)
    review.add_argument("--approve-through", required=True, metavar="DATE", help="the last day approved")
    review.add_argument("--next-review", metavar="DATE", default=None,
                        help="the next review date (default: by level of care)")
    review.add_argument("--note", required=True, help="the clinical update")
    review.add_argument("--requested-through", metavar="DATE", default=None,
                        help="record the facility's request for days through this date first")
    review.add_argument("--expected-discharge", metavar="DATE", default=None)
    review.add_argument("--criteria-result", choices=list(CRITERIA_RESULTS), default=None,
                        help="the criteria result (default: the case's criteria checklist)")
    review.add_argument("--criteria", action="append", default=[], metavar="SET_ID",
                        help="criteria set cited (default: the checklist's)")

    refer = action("refer", "refer the undecided days to a physician", run_refer)
    refer.add_argument("--note", required=True, help="the summary for the physician")
    refer.add_argument("--question", default="")
    refer.add_argument("--requested-through", metavar="DATE", default=None)
    refer.add_argument("--to-user", metavar="USER", default=None)

    deny = action("deny", "deny undecided days (physicians)", run_deny)
    deny.add_argument("--through", required=True, metavar="DATE", help="the last denied day")
    deny.add_argument("--from", dest="first", metavar="DATE", default=None,
                      help="the first denied day (default: the first undecided one)")
    deny.add_argument("--basis", choices=list(DENIAL_BASES), default="medical-necessity")
    deny.add_argument("--reason", required=True, help="the clinical rationale")
    deny.add_argument("--member-reason", default=None, help="for the member, in plain language (default: --reason)")
    deny.add_argument("--next-review", metavar="DATE", default=None)

    level = action("level", "change the level of care (lowering it: physicians)", run_level)
    level.add_argument("--to", required=True, choices=list(LEVELS_OF_CARE))
    level.add_argument("--effective", required=True, metavar="DATE")
    level.add_argument("--reason", required=True, help="the clinical rationale")
    level.add_argument("--member-reason", default=None)
    level.add_argument("--criteria-result", choices=list(CRITERIA_RESULTS), default=None)
    level.add_argument("--next-review", metavar="DATE", default=None)

    care = action("care-plan", "the treating provider was told and a care plan agreed (H&SC 1367.01(h)(3))",
                  run_care_plan)
    care.add_argument("--told", required=True, help="who was told")
    care.add_argument("--told-at", required=True, metavar="ISO8601")
    care.add_argument("--plan", required=True, help="the care plan agreed")

    leave = action("leave", "record a leave of absence", run_leave)
    leave.add_argument("--from", dest="first", required=True, metavar="DATE")
    leave.add_argument("--to", dest="last", required=True, metavar="DATE")
    leave.add_argument("--reason", required=True)

    expected = action("expected-discharge", "set the expected discharge date", run_expected)
    expected.add_argument("--on", required=True, metavar="DATE")

    discharge = action("discharge", "record the discharge (and its needs as new requests)", run_discharge)
    discharge.add_argument("--at", required=True, metavar="ISO8601", help="discharge date-time")
    discharge.add_argument("--disposition", required=True, choices=list(DISPOSITIONS))
    discharge.add_argument("--need", action="append", default=[], choices=list(DISCHARGE_NEEDS),
                           help="a discharge need that becomes a new request (repeatable)")
    discharge.add_argument("--note", default="")

    transfer = action("transfer", "record a transfer to another facility (a new linked stay)", run_transfer)
    transfer.add_argument("--at", required=True, metavar="ISO8601")
    transfer.add_argument("--to-facility", required=True, metavar="NPI")
    transfer.add_argument("--level", choices=list(LEVELS_OF_CARE), default=None)
    transfer.add_argument("--days", type=int, default=1)
    transfer.add_argument("--note", default="")

    figures = action("figures", "admits, bed days, ALOS, days denied, readmissions", run_figures, tar=False,
                     actor=False)
    figures.add_argument("--from", dest="first", metavar="DATE", default=None,
                         help="first day (default: 12 months before --to)")
    figures.add_argument("--to", dest="last", metavar="DATE", default=None, help="last day (default: today)")


# ----- running -------------------------------------------------------------------------------------------------
def _show(view: StayView) -> None:
    late = " LATE NOTICE" if view.late.late else ""
    readmit = f" READMISSION ({view.readmission_days} days after TAR {view.readmission_of})" \
        if view.readmission_of else ""
    print(f"TAR {view.tar} · {view.member} · {view.facility} · {LEVELS_OF_CARE[view.level_of_care]} · "
          f"{view.status}{late}{readmit}")
    print(f"admitted {format_instant(view.admitted_at, year=True)}; notified {format_instant(view.notified_at, year=True)}"
          + (f"; discharged {format_instant(view.discharged_at, year=True)} "
             f"({DISPOSITIONS.get(view.disposition, view.disposition)})"
             if view.discharged_at else ""))
    print(f"approved through {view.approved_through or '—'}; next review {view.next_review or '—'}; review due "
          f"{format_instant(view.review_due_at, year=True) or '—'}"
          + ("; CARE PLAN PENDING" if view.care_plan_pending else ""))
    for day in view.ledger.days:
        by = view.determinations.get(day.determination_id)
        print(f"  {day.day}  {day.status:<9} {day.level_of_care:<15} {'leave ' if day.on_leave else '      '}"
              f"{(by.by or '') if by else ''}")


def _act(args: argparse.Namespace, action: Callable, *, after: Callable | None = None) -> int:
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            result = action(session)
            tar = after(result) if after else args.tar
            view = load_stay(session, tar)
            output = view.to_json()
    except (svc.NotFound, svc.InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (svc.ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(output)
    else:
        _show(view)
    return 0


def run_show(args):
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            view = load_stay(session, args.tar)
            if view is None:
                raise CliError(f"No stay with TAR number {args.tar} in this store.", EXIT_BAD_INPUT)
            record_view(session, actor=os_user(), actor_kind="os-user", what="stay", case_id=view.case_id,
                        tar=view.tar)
            output = view.to_json()
    finally:
        store.close()
    if args.json:
        print_json(output)
    else:
        _show(view)
    return 0


def _provider(session, npi: str | None, what: str):
    from app.store.models import Provider

    if npi is None:
        return None
    provider = session.scalar(select(Provider).where(Provider.npi == npi))
    if provider is None:
        raise svc.NotFound(f"No provider with NPI {npi} ({what}) in this store.")
    return provider


def _diagnoses(items: list[str]) -> list[tuple[str, str]]:
    result = []
    for item in items:
        code, sep, text = item.partition("=")
        if not sep or not code.strip():
            raise CliError(f"--diagnosis '{item}' is not CODE=TEXT (e.g. --diagnosis 'J18.9=Pneumonia')",
                           EXIT_BAD_INPUT)
        result.append((code.strip().upper(), text.strip()))
    return result


def run_admit(args):
    from app.store.models import Member

    admitted, notified = parse_instant(args.admitted, "--admitted"), parse_instant(args.notified, "--notified")
    expected = parse_day(args.expected_discharge, "--expected-discharge")
    diagnoses = _diagnoses(args.diagnosis)

    def admit(session):
        member = session.scalar(select(Member).where(Member.cin == args.member))
        if member is None:
            raise svc.NotFound(f"No member with CIN {args.member} in this store.")
        facility = _provider(session, args.facility, "facility")
        attending = _provider(session, args.attending, "attending physician")
        admitting = _provider(session, args.admitting, "admitting physician")
        result = svc.admit_stay(session, svc.NewStay(
            tar=args.tar or svc.next_tar(session), line_of_business=args.lob, member=member, facility_id=facility.id,
            admitted_at=admitted, notified_at=notified, level_of_care=args.level, admission_type=args.admission_type,
            requested_days=args.days, urgency=args.urgency,
            attending_physician_id=attending.id if attending else None,
            admitting_physician_id=admitting.id if admitting else None, diagnoses=diagnoses,
            expected_discharge=expected), args.actor)
        if result.late.late:
            warn(f"umws: late notice: {result.late.reason}")
        if result.readmission_of:
            warn(f"umws: readmission: {result.readmission_days} days after the discharge of TAR "
                 f"{result.readmission_of}.")
        return result.case.tar

    return _act(args, admit, after=lambda tar: tar)


def run_request(args):
    through = parse_day(args.through, "--through")
    return _act(args, lambda s: svc.request_days(s, args.tar, args.actor, through=through, note=args.note))


def run_review(args):
    approve = parse_day(args.approve_through, "--approve-through")
    next_review = parse_day(args.next_review, "--next-review")
    requested = parse_day(args.requested_through, "--requested-through")
    expected = parse_day(args.expected_discharge, "--expected-discharge")
    return _act(args, lambda s: svc.review_stay(
        s, args.tar, args.actor, clinical_update=args.note, approve_through=approve, next_review=next_review,
        requested_through=requested, expected_discharge=expected, criteria_result=args.criteria_result,
        criteria=args.criteria))


def run_refer(args):
    requested = parse_day(args.requested_through, "--requested-through")
    return _act(args, lambda s: svc.refer_stay(s, args.tar, args.actor, summary=args.note, question=args.question,
                                               requested_through=requested, to_user=args.to_user))


def run_deny(args):
    through, first = parse_day(args.through, "--through"), parse_day(args.first, "--from")
    next_review = parse_day(args.next_review, "--next-review")
    return _act(args, lambda s: svc.deny_days(s, args.tar, args.actor, through=through, first=first,
                                              basis=args.basis, rationale=args.reason,
                                              member_reason=args.member_reason or args.reason,
                                              next_review=next_review))


def run_level(args):
    effective = parse_day(args.effective, "--effective")
    next_review = parse_day(args.next_review, "--next-review")
    return _act(args, lambda s: svc.change_level_of_care(
        s, args.tar, args.actor, level=args.to, effective=effective, rationale=args.reason,
        member_reason=args.member_reason or args.reason, criteria_result=args.criteria_result,
        next_review=next_review))


def run_care_plan(args):
    told_at = parse_instant(args.told_at, "--told-at")
    return _act(args, lambda s: svc.record_care_plan(s, args.tar, args.actor, provider_told_at=told_at,
                                                     told=args.told, care_plan=args.plan))


def run_leave(args):
    first, last = parse_day(args.first, "--from"), parse_day(args.last, "--to")
    return _act(args, lambda s: svc.record_leave(s, args.tar, args.actor, first=first, last=last,
                                                 reason=args.reason))


def run_expected(args):
    expected = parse_day(args.on, "--on")
    return _act(args, lambda s: svc.set_expected_discharge(s, args.tar, args.actor, expected=expected))


def run_discharge(args):
    out = parse_instant(args.at, "--at")

    def discharge(session):
        result = svc.discharge_stay(session, args.tar, args.actor, discharged_at=out, disposition=args.disposition,
                                    needs=args.need, note=args.note)
        for need, tar in result.new_requests:
            warn(f"umws: new request TAR {tar} for the discharge need '{need}'.")
        return result

    return _act(args, discharge)


def run_transfer(args):
    out = parse_instant(args.at, "--at")

    def transfer(session):
        facility = _provider(session, args.to_facility, "receiving facility")
        result = svc.transfer_stay(session, args.tar, args.actor, transferred_at=out, to_facility_id=facility.id,
                                   level_of_care=args.level, requested_days=args.days, note=args.note)
        warn(f"umws: the stay continues at {facility.name} as TAR {result.case.tar}.")
        return result

    return _act(args, transfer)


def run_figures(args):
    from datetime import timedelta

    from app.domain.plantime import PLAN_TZ
    from app.store.stay_figures import stay_figures

    last = parse_day(args.last, "--to")
    if last is None:
        from datetime import datetime, timezone

        last = datetime.now(timezone.utc).astimezone(PLAN_TZ).date()
    first = parse_day(args.first, "--from") or (last.replace(year=last.year - 1) + timedelta(days=1))
    if first > last:
        raise CliError("--from is after --to.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session:
            figures = stay_figures(session, first, last)
    finally:
        store.close()
    if args.json:
        print_json(figures)
    else:
        print(f"Stays {figures['from']} to {figures['to']}: {figures['member_months']:,} member-months")
        print(f"  admits {figures['admits']:,} ({figures['admits_per_1000']} per 1,000 member-months); bed days "
              f"{figures['bed_days']:,} ({figures['bed_days_per_1000']} per 1,000)")
        print(f"  days denied {figures['days_denied']:,}; readmissions within 30 days {figures['readmissions']:,} "
              f"of {figures['discharges']:,} discharges ({figures['readmission_rate']}%)")
        for row in figures["alos_by_level"]:
            print(f"  ALOS {row['level_of_care']:<16} {row['alos']:>6} days over {row['stays']:,} stays")
    return 0
