"""`umws criteria ...`: the criteria library and a case's checklist from the command line (issue 5).

    umws criteria validate FILE...            check files; needs no store and never creates one
    umws criteria import FILE [--as admin]    add a set version to the store's library
    umws criteria list [--code CODE]          shipped and imported sets (shipped only when there is no store yet)
    umws criteria match --case TAR            the sets that apply to a case, best first
    umws criteria evaluate --case TAR --set ID   the machine's answers for a case, explained, and the result
    umws criteria checklist --case TAR        the case's checklist as its events say it is
    umws criteria choose|answer|no-criteria|fact ... --as USER   the reviewer's actions (the GUI's checklist)

Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule, 1 unexpected. Evaluate, match, list and
checklist never write.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from app.cli import (EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json, warn)


def register(sub) -> None:
    parser = sub.add_parser("criteria", help="criteria sets: validate, import, list, match and evaluate; checklists")
    actions = parser.add_subparsers(dest="criteria_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    validate = actions.add_parser("validate", help="check criteria files (no store needed)")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=run_validate)

    imp = actions.add_parser("import", help="add a criteria set version to the store's library")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--as", dest="actor", default=None, help="acting username (an administrator), recorded")
    imp.add_argument("--json", action="store_true")
    add_store_option(imp)
    imp.set_defaults(handler=run_import)

    listing = actions.add_parser("list", help="the sets in the library (shipped and imported)")
    listing.add_argument("--code", default=None, help="only sets listing this CPT/HCPCS code (or a range holding it)")
    listing.add_argument("--json", action="store_true")
    add_store_option(listing)
    listing.set_defaults(handler=run_list)

    match = actions.add_parser("match", help="the sets that apply to a case, best first")
    match.add_argument("--case", dest="tar", required=True, metavar="TAR")
    match.add_argument("--json", action="store_true")
    add_store_option(match)
    match.set_defaults(handler=run_match)

    evaluate = actions.add_parser("evaluate", help="run a set's machine rules on a case (writes nothing)")
    evaluate.add_argument("--case", dest="tar", required=True, metavar="TAR")
    evaluate.add_argument("--set", dest="set_id", required=True, metavar="ID")
    evaluate.add_argument("--version", default=None, help="a set version (default: the one in effect at receipt)")
    evaluate.add_argument("--json", action="store_true")
    add_store_option(evaluate)
    evaluate.set_defaults(handler=run_evaluate)

    show = actions.add_parser("checklist", help="a case's checklist: set applied, answers, result")
    show.add_argument("--case", dest="tar", required=True, metavar="TAR")
    show.add_argument("--json", action="store_true")
    add_store_option(show)
    show.set_defaults(handler=run_checklist)

    choose = actions.add_parser("choose", help="apply a criteria set to a case")
    choose.add_argument("--case", dest="tar", required=True, metavar="TAR")
    choose.add_argument("--set", dest="set_id", required=True, metavar="ID")
    choose.add_argument("--version", default=None)
    _actor(choose)

    answer = actions.add_parser("answer", help="answer one criterion (met, not-met, not-applicable, unknown)")
    answer.add_argument("--case", dest="tar", required=True, metavar="TAR")
    answer.add_argument("--criterion", required=True, metavar="ID")
    answer.add_argument("--answer", required=True, choices=["met", "not-met", "not-applicable", "unknown"])
    answer.add_argument("--evidence", default=None, help="where in the record the evidence is")
    answer.add_argument("--override-reason", default=None, help="why the machine's answer is overridden")
    _actor(answer)

    none = actions.add_parser("no-criteria", help="record that no criteria apply (refer to a physician)")
    none.add_argument("--case", dest="tar", required=True, metavar="TAR")
    none.add_argument("--note", default=None)
    _actor(none)

    fact = actions.add_parser("fact", help="record a fact machine rules read (weight_kg, dose, prior_therapies, ...)")
    fact.add_argument("--case", dest="tar", required=True, metavar="TAR")
    fact.add_argument("--name", required=True)
    fact.add_argument("--value", required=True, help='a JSON value, e.g. 72.5 or \'{"value": 500, "unit": "mg"}\'')
    fact.add_argument("--note", default=None)
    _actor(fact)


def _actor(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="actor", required=True, help="acting username")
    parser.add_argument("--json", action="store_true")
    add_store_option(parser)
    parser.set_defaults(handler=run_action)


# --- validate / import / list ------------------------------------------------------------------------------------

def _check(path: Path):
    from app.domain.criteria.validate import check_file, has_errors

    content, issues = check_file(path)
    return content, issues, content is not None and not has_errors(issues)


def run_validate(args: argparse.Namespace) -> int:
    from app.domain.criteria import content_sha256, parse_set

    results, failed = [], 0
    for name in args.files:
        path = Path(name)
        content, issues, valid = _check(path)
        errors = [i for i in issues if i.severity == "error"]
        warnings = [i for i in issues if i.severity == "warning"]
        entry = {"file": name, "valid": valid,
                 "errors": [{"path": i.path, "message": i.message} for i in errors],
                 "warnings": [{"path": i.path, "message": i.message} for i in warnings]}
        if valid:
            cset = parse_set(content)
            entry |= {"set_id": cset.id, "version": cset.version, "sha256": content_sha256(content),
                      "criteria": len(cset.criteria())}
        else:
            failed += 1
        results.append(entry)
        if not args.json:
            for issue in issues:
                warn(issue.render(name))
            if valid:
                print(f"{name}: valid: {entry['set_id']} version {entry['version']}, {entry['criteria']} criteria")
    if args.json:
        print_json(results)
    if failed:
        raise CliError(f"{failed} of {len(args.files)} file{'s' if len(args.files) > 1 else ''} "
                       f"{'is' if failed == 1 else 'are'} not valid: fix what is listed above and validate again.",
                       EXIT_BAD_INPUT)
    return 0


def _services_errors(call):
    from app.services.criteria import ActionRefused, InvalidInput, NotFound

    try:
        return call()
    except (InvalidInput, NotFound) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except ActionRefused as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    except LookupError as error:
        raise CliError(str(error), EXIT_REFUSED) from error


def run_import(args: argparse.Namespace) -> int:
    from app.services.criteria import import_set

    path = Path(args.file)
    content, issues, valid = _check(path)
    for issue in issues:
        warn(issue.render(args.file))
    if not valid:
        raise CliError(f"{args.file} is not a valid criteria set; nothing was imported.", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            result = _services_errors(lambda: import_set(session, content, args.file, args.actor))
    finally:
        store.close()
    out = {"set_id": result.set.id, "version": result.set.version, "sha256": result.set.sha256,
           "status": result.status}
    if args.json:
        print_json(out)
    else:
        words = {"imported": "imported", "already-imported": "already in the library with the same content; nothing "
                 "written", "already-shipped": "ships with the workstation with the same content; nothing written"}
        print(f"{out['set_id']} version {out['version']}: {words[result.status]}.")
    return 0


def _has_store(args: argparse.Namespace) -> bool:
    from app.store.engine import default_store_path

    return bool(args.database_url or os.environ.get("UMWS_DATABASE_URL")) or default_store_path().exists()


def _set_json(cset, basis: str | None = None) -> dict:
    out = {"set_id": cset.id, "version": cset.version, "title": cset.title, "origin": cset.origin,
           "source_kind": cset.source.kind, "citation": cset.source.citation,
           "effective_from": cset.effective_from.isoformat(),
           "effective_to": cset.effective_to.isoformat() if cset.effective_to else None,
           "lines_of_business": list(cset.lines_of_business), "service_categories": list(cset.service_categories),
           "review_timings": list(cset.review_timings), "adult_only": cset.adult_only,
           "sample_content": cset.sample_content, "procedure_codes": [s.text for s in cset.procedure_codes],
           "criteria": len(cset.criteria()), "sha256": cset.sha256}
    if basis:
        out["match"] = basis
    return out


def run_list(args: argparse.Namespace) -> int:
    """Shipped sets need no store: without one (a fresh install), list them without creating a store."""
    from app.domain.criteria import version_key
    from app.domain.criteria.codes import PROCEDURE_CODE, normalize_procedure
    from app.store.criteria_library import library

    if args.code and not PROCEDURE_CODE.match(normalize_procedure(args.code)):
        raise CliError(f"'{args.code}' is not a CPT, HCPCS or revenue code (e.g. 72148, J1745).", EXIT_BAD_INPUT)
    if _has_store(args):
        store = open_store_for(args)
        try:
            with store.session() as session:
                lib = library(session)
        finally:
            store.close()
    else:
        lib = library(None)
    for conflict in lib.conflicts:
        warn(f"umws: warning: {conflict}")
    if args.code:
        rows = [_set_json(cset, basis) for cset, basis in lib.index.by_code(args.code)]
    else:
        rows = [_set_json(cset) for cset in sorted(lib.sets, key=lambda s: (s.id, version_key(s.version)))]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        warn(f"umws: no criteria set lists {args.code}." if args.code else "umws: the library is empty.")
        return 0
    for row in rows:
        match = f"  [{row['match']}]" if "match" in row else ""
        print(f"{row['set_id']:<34} {row['version']:<8} {row['origin']:<9} {row['source_kind']:<15} "
              f"{row['title']}{match}")
    return 0


# --- case commands -----------------------------------------------------------------------------------------------

def _with_case(args: argparse.Namespace, work, *, write: bool = False):
    from app.services.cases import case_by_tar

    store = open_store_for(args)
    try:
        with store.session() as session:
            if write:
                with session.begin():
                    return _services_errors(lambda: work(session))
            case = _services_errors(lambda: case_by_tar(session, args.tar))
            return _services_errors(lambda: work(session, case))
    finally:
        store.close()


def run_match(args: argparse.Namespace) -> int:
    from app.store.criteria_answers import proposals

    matches = _with_case(args, lambda session, case: [m.to_json() for m in proposals(session, case)])
    if args.json:
        print_json(matches)
        return 0
    if not matches:
        warn(f"umws: no criteria set applies to TAR {args.tar}: record that no criteria apply and refer it to a "
             "physician.")
    for m in matches:
        print(f"{m['set_id']:<34} {m['version']:<8} score {m['score']:<4} {m['reason']}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from app.domain.criteria import evaluate, walk
    from app.domain.criteria.model import describe_rule
    from app.store.criteria_answers import case_facts
    from app.store.criteria_library import library

    def work(session, case):
        lib = library(session)
        facts = case_facts(session, case)
        if args.version:
            cset = lib.get(args.set_id, args.version)
        else:
            cset = lib.effective(args.set_id, facts.received_on) or lib.get(args.set_id)
        if cset is None:
            known = lib.versions(args.set_id)
            raise CliError(f"No criteria set '{args.set_id}'" + (f" version {args.version}" if args.version else "")
                           + (f"; versions: {', '.join(s.version for s in known)}" if known else
                              "; 'umws criteria list' shows the sets") + ".", EXIT_BAD_INPUT)
        result = evaluate(cset, facts)
        rows = []
        for depth, node in walk(cset):
            row = {"id": node.id, "kind": "group" if node.is_group else "criterion", "depth": depth,
                   "text": node.text, "answer": result.nodes[node.id]}
            if node.is_group:
                row["combine"] = node.describe()
            else:
                outcome = result.machine.get(node.id)
                row |= {"rule": describe_rule(node.rule) if node.rule else None,
                        "source": "machine" if outcome else "reviewer needed",
                        "explanation": outcome.explanation if outcome else "No machine rule: the reviewer answers "
                                                                          "from the record.",
                        "facts_used": outcome.facts_used if outcome else {}}
            rows.append(row)
        in_effect = cset.effective_on(facts.received_on)
        return {"tar": case.tar, "set_id": cset.id, "version": cset.version, "title": cset.title,
                "sha256": cset.sha256, "in_effect_at_receipt": in_effect, "received_on": facts.received_on.isoformat(),
                "citation": cset.source.citation, "source_kind": cset.source.kind,
                "criteria": rows, "result": result.result.to_json(), "facts": facts.to_json()}

    out = _with_case(args, work)
    if not out["in_effect_at_receipt"]:
        warn(f"umws: warning: {out['set_id']} {out['version']} was not in effect on {out['received_on']}, the day "
             "the request was received.")
    if args.json:
        print_json(out)
        return 0
    print(f"TAR {out['tar']}: {out['title']} ({out['set_id']} version {out['version']}; {out['citation']})")
    for row in out["criteria"]:
        indent = "  " * row["depth"]
        if row["kind"] == "group":
            print(f"{indent}[{row['answer']}] {row['combine']}: {row['text']}")
        else:
            print(f"{indent}[{row['answer']}] {row['id']}: {row['text']}")
            print(f"{indent}    {row['explanation']}")
    result = out["result"]
    print(f"Result (machine answers only): {result['label']}. {result['message']}")
    return 0


def run_checklist(args: argparse.Namespace) -> int:
    from app.store.criteria_answers import checklist

    out = _with_case(args, lambda session, case: checklist(session, case).to_json())
    if args.json:
        print_json(out)
    else:
        _print_checklist(out)
    return 0


def _print_checklist(out: dict) -> None:
    if out["set"] is None:
        if out["no_criteria"]:
            print(f"TAR {out['tar']}: no criteria apply (recorded by {out['no_criteria']['by']} "
                  f"{out['no_criteria']['at']}).")
        else:
            print(f"TAR {out['tar']}: no criteria set chosen yet ('umws criteria match --case {out['tar']}').")
    else:
        s = out["set"]
        print(f"TAR {out['tar']}: {s['title']} ({s['set_id']} version {s['version']}), chosen by "
              f"{out['chosen_by']} {out['chosen_at']}")
        for row in out["rows"]:
            indent = "  " * row["depth"]
            if row["kind"] == "group":
                print(f"{indent}[{row['answer']}] {row['describe']}: {row['text']}")
                continue
            who = "reviewer" if row["reviewer"] else "machine" if row["machine"] else "unanswered"
            print(f"{indent}[{row['answer']}] {row['id']} ({who}): {row['text']}")
    if out["result"]:
        print(f"Result: {out['result']['label']}. {out['result']['message']}")


def run_action(args: argparse.Namespace) -> int:
    from app.services import criteria as services

    action = args.criteria_action

    def work(session):
        if action == "choose":
            return services.choose_set(session, args.tar, args.actor, args.set_id, args.version)
        if action == "answer":
            return services.answer_criterion(session, args.tar, args.actor, args.criterion, args.answer,
                                             args.evidence, args.override_reason)
        if action == "no-criteria":
            return services.record_no_criteria(session, args.tar, args.actor, args.note)
        try:
            value = json.loads(args.value)
        except json.JSONDecodeError:
            raise services.InvalidInput(f"--value must be a JSON value (found {args.value!r}); text goes in quotes, "
                                        "e.g. '\"2026-11-01\"'.") from None
        return services.record_fact(session, args.tar, args.actor, args.name, value, args.note)

    out = _with_case(args, lambda session: work(session).to_json(), write=True)
    if args.json:
        print_json(out)
    else:
        _print_checklist(out)
    print(f"umws: TAR {args.tar}: {action} recorded.", file=sys.stderr)
    return 0
