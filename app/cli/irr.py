"""`umws irr ...`: the inter-rater reliability program (issue 14).

    umws irr sample --year 2026 [--seed N] [--record --as lead.patel] [--json]
    umws irr work-list [--year 2026] --as auditor.brown [--json]
    umws irr show ITEM --as auditor.brown [--json]             # the blind view: no original answers, no outcome
    umws irr answer ITEM CRITERION ANSWER --as auditor.brown [--note TEXT]
    umws irr submit ITEM --determination approved|partially-approved|denied|referred --as auditor.brown
    umws irr report --year 2026 [--as lead.patel] [--json]
    umws irr cap list|open|add-action|done|due|re-audit|record-re-audit|close ...

`sample` without --record only prints the sample (nothing is written); with --record it is kept for the auditors.
"""
from __future__ import annotations

import argparse
import dataclasses
import uuid
from datetime import date

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json, warn


def _year(text: str) -> int:
    if not (text.isdigit() and len(text) == 4):
        raise argparse.ArgumentTypeError(f"'{text}' is not a year; write it as YYYY, e.g. 2026")
    return int(text)


def _seed(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"'{text}' is not a seed; give a whole number, 0 or more")
    return int(text)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date; write it as YYYY-MM-DD") from None


def register(sub) -> None:
    parser = sub.add_parser("irr", help="inter-rater reliability: sample, blind re-review, results, action plans")
    commands = parser.add_subparsers(dest="irr_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    def command(name: str, help_text: str, handler, *, actor: bool = True, actor_required: bool = True):
        p = commands.add_parser(name, help=help_text)
        if actor:
            p.add_argument("--as", dest="actor", required=actor_required, metavar="USERNAME", help="who acts")
        p.add_argument("--json", action="store_true")
        add_store_option(p)
        p.set_defaults(handler=handler)
        return p

    p = command("sample", "draw the year's sample (print it; --record keeps it for the auditors)", run_sample,
                actor_required=False)
    p.add_argument("--year", type=_year, required=True)
    p.add_argument("--seed", type=_seed, default=None, help="the draw's seed (default: a random one, printed)")
    p.add_argument("--record", action="store_true", help="keep the sample for blind re-review (needs --as)")
    p = command("work-list", "the sampled cases and their review state", run_work_list)
    p.add_argument("--year", type=_year, default=None)
    p = command("show", "a sampled case as the auditor sees it (blind)", run_show)
    p.add_argument("item")
    p = command("answer", "answer one criterion of a sampled case", run_answer)
    p.add_argument("item")
    p.add_argument("criterion")
    p.add_argument("answer", choices=("met", "not-met", "not-applicable", "unknown"))
    p.add_argument("--note", default=None)
    p = command("submit", "submit the re-review with the auditor's determination", run_submit)
    p.add_argument("item")
    p.add_argument("--determination", required=True,
                   choices=("approved", "partially-approved", "denied", "referred"))
    p.add_argument("--note", default=None)
    p = command("report", "agreement per reviewer, per criteria set and overall; action plans", run_report,
                actor_required=False)
    p.add_argument("--year", type=_year, required=True)

    cap = commands.add_parser("cap", help="corrective action plans")
    caps = cap.add_subparsers(dest="cap_command", metavar="COMMAND", parser_class=type(parser))
    caps.required = True

    def cap_command(name: str, help_text: str, handler, *, plan: bool = True):
        p = caps.add_parser(name, help=help_text)
        if plan:
            p.add_argument("plan")
        p.add_argument("--as", dest="actor", required=True, metavar="USERNAME")
        p.add_argument("--json", action="store_true")
        add_store_option(p)
        p.set_defaults(handler=handler)
        return p

    p = cap_command("list", "the plans (open ones by default)", run_cap_list, plan=False)
    p.add_argument("--year", type=_year, default=None)
    p.add_argument("--all", action="store_true", help="closed plans too")
    p = cap_command("open", "open a plan for a reviewer below target", run_cap_open, plan=False)
    p.add_argument("--year", type=_year, required=True)
    p.add_argument("--reviewer", required=True)
    p.add_argument("--owner", required=True)
    p.add_argument("--action", dest="actions", action="append", required=True, help="an action (repeatable)")
    p.add_argument("--due", type=_day, required=True)
    p = cap_command("add-action", "add an action", run_cap_add)
    p.add_argument("--action", required=True)
    p = cap_command("done", "record an action as done", run_cap_done)
    p.add_argument("--number", type=int, required=True)
    p.add_argument("--note", required=True)
    p = cap_command("due", "change the due date", run_cap_due)
    p.add_argument("--due", type=_day, required=True)
    p.add_argument("--reason", required=True)
    p = cap_command("re-audit", "draw the re-audit (blind re-review of recent decisions)", run_cap_re_audit)
    p.add_argument("--seed", type=_seed, default=None)
    p.add_argument("--size", type=int, default=10)
    p = cap_command("record-re-audit", "record the re-audit's agreement once its cases are re-reviewed",
                    run_cap_record)
    p = cap_command("close", "close a plan after a passing re-audit", run_cap_close)
    p.add_argument("--note", required=True)
    p = cap_command("events", "the plan's history", run_cap_events)


def _run(args, work, *, write: bool):
    """Run `work(session)` on the store, mapping refusals and bad input to exit codes 3 and 2."""
    from app.services.cases import ActionRefused, InvalidInput, NotFound

    store = open_store_for(args)
    try:
        with store.session() as session:
            try:
                if write:
                    with session.begin():
                        return work(session)
                return work(session)
            except ActionRefused as error:
                raise CliError(str(error), EXIT_REFUSED) from error
            except (InvalidInput, NotFound) as error:
                raise CliError(str(error), EXIT_BAD_INPUT) from error
    finally:
        store.close()


def run_sample(args: argparse.Namespace) -> int:
    from app.services import irr

    if args.record and not args.actor:
        raise CliError("--record keeps the sample for the auditors: say who draws it with --as USERNAME.")
    seed = args.seed if args.seed is not None else irr.new_seed()
    if args.record:
        result = _run(args, lambda s: irr.draw_sample(s, args.actor, year=args.year, seed=seed), write=True)
        sample = result.sample
        if not result.created:
            warn(f"umws: the {args.year} sample with seed {seed} was already recorded; shown as recorded.")
    else:
        if args.actor:
            _run(args, lambda s: _check_reader(s, args.actor), write=False)
        sample = _run(args, lambda s: irr.preview_sample(s, args.year, seed), write=False)
    if args.json:
        print_json(sample)
        return 0
    print(f"IRR sample {sample['year']}, seed {sample['seed']}: {sample['total_cases']} cases "
          f"({'recorded' if args.record else 'not recorded: add --record --as USER to keep it'})")
    print(f"{'reviewer':<22}{'role':<22}{'decided':>8}{'sample':>8}  review types")
    for reviewer in sample["reviewers"]:
        types = ", ".join(f"{s['review_type']} {s['sampled']}/{s['decided']}" for s in reviewer["strata"])
        print(f"{reviewer['username']:<22}{reviewer['role']:<22}{reviewer['decided']:>8}"
              f"{reviewer['sample_size']:>8}  {types}")
    return 0


def _check_reader(session, username: str) -> None:
    from app.domain import irr_rules
    from app.services.cases import ActionRefused, user_by_name

    refusal = irr_rules.may_read_reports(user_by_name(session, username).role)
    if refusal:
        raise ActionRefused(refusal.reason, who=refusal.who)


def run_work_list(args: argparse.Namespace) -> int:
    from app.store.irr_queries import work_list

    def work(session):
        _check_reader(session, args.actor)
        return [{k: v for k, v in row.items() if k != "decider_id"} for row in work_list(session, args.year)]

    rows = _run(args, work, write=False)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['item_id']}  {row['tar']}  {row['year']} {row['purpose']:<9} {row['review_type']:<20} "
              f"{row['state']:<12} {row['auditor'] or ''}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from app.services import irr

    view = _run(args, lambda s: irr.blind_view(s, args.actor, args.item), write=True)
    data = dataclasses.asdict(view)
    if args.json:
        print_json(data)
        return 0
    print(f"TAR {view.tar} · {view.review_type} · as of {view.as_of}")
    print(f"{view.line_of_business} {view.service_category} {view.urgency} {view.review_timing}; "
          f"received {view.received_at}; member {view.member_age} {view.member_sex}")
    for code, description, units, start, end in view.lines:
        print(f"  line {code} {description} x{units} {start or ''}–{end or ''}")
    for code, description in view.diagnoses:
        print(f"  diagnosis {code} {description}")
    for name, value in view.facts:
        print(f"  fact {name}: {value}")
    if view.criteria_set:
        print(f"Criteria: {view.criteria_set['title']} {view.criteria_set['version']}")
    for criterion in view.criteria:
        mine = view.my_answers.get(criterion.id)
        mark = "" if criterion.is_group else f"[{mine[0] if mine else ' '}] "
        print(f"{'  ' * criterion.depth}{mark}{criterion.id}: {criterion.text}")
    return 0


def run_answer(args: argparse.Namespace) -> int:
    from app.services import irr

    view = _run(args, lambda s: irr.record_answer(s, args.actor, item_id=args.item, criterion_id=args.criterion,
                                                  answer=args.answer, note=args.note), write=True)
    left = [cid for cid in view.answerable if cid not in view.my_answers]
    if args.json:
        print_json({"item_id": view.item_id, "answered": len(view.my_answers), "left": left})
    else:
        print(f"Recorded. {len(left)} criteria left" + (f": {', '.join(left)}" if left else "."))
    return 0


def run_submit(args: argparse.Namespace) -> int:
    from app.services import irr

    result = _run(args, lambda s: irr.submit_review(s, args.actor, item_id=args.item,
                                                    determination=args.determination, note=args.note), write=True)
    if args.json:
        print_json({"tar": result["tar"], "submitted": True})
    else:
        print(f"Re-review of TAR {result['tar']} submitted.")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from app.services import irr
    from app.store.irr_queries import irr_report

    if args.actor:
        report = _run(args, lambda s: irr.report(s, args.actor, args.year), write=False)
    else:
        report = _run(args, lambda s: irr_report(s, args.year), write=False)
    if args.json:
        print_json(report)
        return 0
    overall = report["overall"]
    if not report["sample_drawn"]:
        print(f"No {args.year} sample has been drawn; 'umws irr sample --year {args.year} --record --as USER'.")
        return 0
    da = overall["determination_agreement"]
    print(f"IRR {report['year']} (seed {report['seed']}): {overall['reviewed']} of {overall['sampled']} re-reviewed; "
          f"determination agreement {da['percent_agreement']}% (kappa {da['kappa']}); target "
          f"{report['target_percent']:g}%")
    print(f"{'reviewer':<22}{'reviewed':>9}{'agree %':>9}{'kappa':>8}{'criteria %':>11}{'in time %':>10}  flag")
    for r in report["reviewers"]:
        d, c = r["determination_agreement"], r["criteria_agreement"]
        flag = "below target" if r["below_target"] else "" if r["audit_complete"] else "audit open"
        plan = r["corrective_action_plan"]
        if plan:
            flag += f" · plan {plan['state']}"
        print(f"{r['username']:<22}{r['reviewed']:>4}/{r['sample_size']:<4}{_num(d['percent_agreement']):>9}"
              f"{_num(d['kappa']):>8}{_num(c['percent_agreement']):>11}{_num(r['percent_in_time']):>10}  {flag}")
    return 0


def _num(value) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# ----- corrective action plans ----------------------------------------------------------------------------------
def _plan_out(args, plan) -> int:
    from app.store.irr_queries import plans_json

    def work(session):
        return next(p for p in plans_json(session, plan.year) if p["plan_id"] == str(plan.id))

    data = _run(args, work, write=False)
    if args.json:
        print_json(data)
    else:
        print(f"Plan {data['plan_id']} for {data['reviewer']}: {data['state_label']}; due {data['due_date']}; "
              f"actions {data['actions_done']}/{data['actions_total']} done")
    return 0


def run_cap_list(args: argparse.Namespace) -> int:
    from app.store.irr_queries import plans_json

    def work(session):
        _check_reader(session, args.actor)
        return plans_json(session, args.year, open_only=not args.all)

    plans = _run(args, work, write=False)
    if args.json:
        print_json(plans)
        return 0
    for p in plans:
        print(f"{p['plan_id']}  {p['reviewer']:<20} {p['state']:<18} due {p['due_date']}"
              f"{' OVERDUE' if p['overdue'] else ''}  owner {p['owner']}  actions {p['actions_done']}/"
              f"{p['actions_total']}")
    return 0


def run_cap_open(args: argparse.Namespace) -> int:
    from app.services import irr

    plan = _run(args, lambda s: irr.open_plan(s, args.actor, plan_id=uuid.uuid4(), year=args.year,
                                              reviewer=args.reviewer, owner=args.owner, actions=args.actions,
                                              due_date=args.due), write=True)
    return _plan_out(args, plan)


def run_cap_add(args):
    from app.services import irr

    return _plan_out(args, _run(args, lambda s: irr.add_action(s, args.actor, plan_id=args.plan,
                                                               action=args.action), write=True))


def run_cap_done(args):
    from app.services import irr

    return _plan_out(args, _run(args, lambda s: irr.complete_action(s, args.actor, plan_id=args.plan,
                                                                    number=args.number, note=args.note), write=True))


def run_cap_due(args):
    from app.services import irr

    return _plan_out(args, _run(args, lambda s: irr.change_due_date(s, args.actor, plan_id=args.plan,
                                                                    due_date=args.due, reason=args.reason),
                                write=True))


def run_cap_re_audit(args):
    from app.services import irr

    seed = args.seed if args.seed is not None else irr.new_seed()
    result = _run(args, lambda s: irr.draw_re_audit(s, args.actor, plan_id=args.plan, seed=seed, size=args.size),
                  write=True)
    if args.json:
        print_json(result.sample)
    else:
        print(f"Re-audit drawn (seed {seed}): {result.sample['sample_size']} cases to re-review blind.")
    return 0


def run_cap_record(args):
    from app.services import irr

    return _plan_out(args, _run(args, lambda s: irr.record_re_audit(s, args.actor, plan_id=args.plan), write=True))


def run_cap_close(args):
    from app.services import irr

    return _plan_out(args, _run(args, lambda s: irr.close_plan(s, args.actor, plan_id=args.plan, note=args.note),
                                write=True))


def run_cap_events(args):
    from app.services import irr

    def work(session):
        _check_reader(session, args.actor)
        return irr.plan_events(session, args.plan)

    events = _run(args, work, write=False)
    if args.json:
        print_json(events)
    else:
        for e in events:
            print(f"{e['at']}  {e['actor']:<14} {e['kind']:<24} {e['payload']}")
    return 0
