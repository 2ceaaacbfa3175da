"""`umws letter ...`: render, issue, translate, queue, print, mark mailed, notify the provider, reprint, samples.

The same services as the GUI's Letters tab and "Letters to mail" window (app.services.letters). A letter is named
by its case and recipient (`TAR --kind member|provider`: the case's current letter for that recipient) or by
`--letter ID`. Exit codes: 0 done, 2 bad input (nothing written), 3 refused by a rule (the linter's missing
elements, a missing translation, the reading level, authority), 1 unexpected.
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json, warn

RECIPIENT_CHOICES = ("member", "provider")


def register(sub) -> None:
    parser = sub.add_parser("letter", help="notices: render, issue, queue, print, mark mailed, samples")
    actions = parser.add_subparsers(dest="letter_action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    def action(name, help_text, handler, *, tar=True, actor=False, store=True):
        p = actions.add_parser(name, help=help_text)
        if tar:
            p.add_argument("tar", nargs="?", help="TAR number")
            p.add_argument("--kind", choices=RECIPIENT_CHOICES, default="member",
                           help="whose letter: the member's (default) or the provider's")
            p.add_argument("--letter", default=None, metavar="ID", help="the letter's id instead of TAR and --kind")
        if actor:
            p.add_argument("--as", dest="actor", required=True, metavar="USER", help="acting username")
        p.add_argument("--json", action="store_true", help="print JSON")
        if store:
            add_store_option(p)
        p.set_defaults(handler=handler)
        return p

    render = action("render", "render the case's letter to a PDF file (the linter runs first)", run_render)
    render.add_argument("--lang", default=None, help="language of the letter (default: the letter's)")
    render.add_argument("--out", required=True, metavar="FILE.pdf")
    render.add_argument("--draft", action="store_true", help="mark the pages DRAFT")

    samples = action("samples", "one sample PDF per kind x recipient x language (synthetic; needs no store)",
                     run_samples, tar=False, store=False)
    samples.add_argument("--out", required=True, metavar="DIR")
    samples.add_argument("--lang", action="append", default=None, help="languages (default: en and es)")

    action("list", "a case's letters", run_list)

    queue = action("queue", "letters to mail, nearest mail-by first", run_queue, tar=False)
    queue.add_argument("--limit", type=int, default=0)
    queue.add_argument("--status", action="append", default=None,
                       choices=("draft", "translation-needed", "issued", "mailed", "sent", "superseded"))

    issue = action("issue", "issue the letter: lint, render, store the exact PDF and its SHA-256", run_issue,
                   actor=True)
    issue.add_argument("--accept-reading-level", action="store_true",
                       help="issue although the member's reason reads above grade 6")

    translate = action("translate", "add the translation of the reviewer's texts for the member's language",
                       run_translate, actor=True)
    translate.add_argument("--reason", default=None, help="the member's reason, translated")
    translate.add_argument("--information", action="append", default=None, metavar="ITEM",
                           help="an item of information asked for, translated (repeatable)")
    translate.add_argument("--alternatives", default=None, help="covered alternatives, translated")
    translate.add_argument("--service", action="append", default=None, metavar="TEXT",
                           help="a request line's plain description, translated (repeatable, in line order)")
    translate.add_argument("--criterion", action="append", default=None, metavar="TEXT",
                           help="an unmet criterion's member wording, translated (repeatable, in order)")

    effective = action("effective-date", "set when a termination or reduction takes effect", run_effective,
                       actor=True)
    effective.add_argument("--date", required=True, metavar="YYYY-MM-DD")

    mailed = action("mark-mailed", "record that the issued letter was mailed (completes the notice clock)",
                    run_mark_mailed, actor=True)
    mailed.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="the day it was mailed (default today)")

    notify = action("notify-provider", "record the provider notification with its method and time",
                    run_notify_provider, actor=True)
    notify.add_argument("--method", required=True, choices=("phone", "fax", "portal", "letter"))
    notify.add_argument("--sent-at", default=None, metavar="ISO8601")

    reprint = action("reprint", "write the stored bytes of an issued letter (never re-rendered)", run_reprint,
                     actor=True)
    reprint.add_argument("--out", required=True, metavar="FILE.pdf")

    batch = action("print-batch", "all issued letters awaiting mailing, in queue order, as one PDF", run_batch,
                   tar=False)
    batch.add_argument("--out", required=True, metavar="FILE.pdf")
    batch.add_argument("--recipient", choices=RECIPIENT_CHOICES, default=None)

    phone = actions.add_parser("set-phone", help="record a reviewer's direct phone number (administrators)")
    phone.add_argument("username")
    phone.add_argument("phone")
    phone.add_argument("--as", dest="actor", required=True, metavar="USER")
    phone.add_argument("--json", action="store_true")
    add_store_option(phone)
    phone.set_defaults(handler=run_set_phone)


# ----- helpers ----------------------------------------------------------------------------------------------
def _services():
    from app.services import cases, letters

    return cases, letters


def _run(args, work):
    """Run `work(session)` in one transaction, turning the services' errors into exit codes."""
    from app.services.audit import AuditChainError

    cases, letters = _services()
    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            return work(session)
    except (cases.NotFound, cases.InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (cases.ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()


def _letter_of(session, args):
    _, letters = _services()
    if args.letter:
        return letters._letter(session, args.letter)
    if not args.tar:
        raise CliError("name the letter: TAR [--kind member|provider], or --letter ID", EXIT_BAD_INPUT)
    letter = letters.find_letter(session, args.tar, args.kind)
    if letter is None:
        raise CliError(f"TAR {args.tar} has no {args.kind} letter: letters are drafted when a determination, an "
                       "extension or a pend is recorded ('umws letter list TAR').", EXIT_BAD_INPUT)
    return letter


def _write(path: str, data: bytes) -> Path:
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}", EXIT_BAD_INPUT) from error
    return out


def _letter_json(letter) -> dict:
    from app.domain.plantime import iso_plan
    from app.services.letters import letter_ref

    return {"letter_id": str(letter.id), "ref": letter_ref(letter), "tar": letter.case.tar, "kind": letter.kind,
            "recipient": letter.recipient, "language": letter.language, "status": letter.status,
            "mail_by": iso_plan(letter.mail_by_at), "issued_at": iso_plan(letter.issued_at),
            "mailed_at": iso_plan(letter.mailed_at), "sent_method": letter.sent_method,
            "effective_date": letter.effective_date.isoformat() if letter.effective_date else None}


# ----- commands ---------------------------------------------------------------------------------------------
def run_render(args) -> int:
    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        preview = letters.preview_letter(session, letter.id, None, draft_mark=args.draft, language=args.lang)
        if preview.missing_translation:
            raise CliError(f"TAR {letter.case.tar}: the {args.lang or letter.language} letter needs a translation "
                           "first; missing:\n- " + "\n- ".join(preview.missing_translation), EXIT_REFUSED)
        if preview.lint is not None and preview.lint.blocked:
            raise CliError(f"TAR {letter.case.tar}: the letter cannot be rendered; missing:\n- "
                           + "\n- ".join(p.message for p in preview.lint.problems), EXIT_REFUSED)
        return letter, preview

    letter, preview = _run(args, work)
    out = _write(args.out, preview.pdf)
    reading = preview.lint.reading if preview.lint else None
    if reading and reading.too_hard:
        warn(f"umws: warning: the member's reason reads at grade {reading.grade:.1f} (aim: 6 or lower): "
             + " | ".join(s.text for s in reading.hard))
    if args.json:
        print_json({"file": str(out), "tar": letter.case.tar, "kind": letter.kind, "recipient": letter.recipient,
                    "language": args.lang or letter.language, "issued": preview.issued,
                    "reading_level": reading.to_json() if reading else None})
    else:
        print(out)
    return 0


def run_samples(args) -> int:
    import hashlib

    from app.domain.letters import lint
    from app.letters import compose, render, samples, templates

    languages = tuple(args.lang or ("en", "es"))
    out_dir = Path(args.out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot make {out_dir}: {error.strerror}", EXIT_BAD_INPUT) from error
    unknown = [lang for lang in languages if lang not in templates.languages()]
    if unknown:
        raise CliError(f"no templates for: {', '.join(unknown)} (there are: {', '.join(templates.languages())})",
                       EXIT_BAD_INPUT)
    made = []
    for lob, kind, recipient, language in samples.sample_letters(languages):
        facts = samples.sample_facts(kind, language, lob)
        content = compose.build(facts, kind=kind, recipient=recipient, language=language,
                                notice_date=samples.NOTICE_DATE)
        result = lint(content)
        if result.blocked:
            raise CliError(f"sample {kind}-{recipient}-{language} is missing: "
                           + "; ".join(p.message for p in result.problems), EXIT_REFUSED)
        pdf = render.render(content, templates.plan_profile())
        path = out_dir / samples.sample_file_name(lob, kind, recipient, language)
        _write(str(path), pdf)
        made.append({"file": str(path), "line_of_business": lob, "kind": kind, "recipient": recipient,
                     "language": language, "sha256": hashlib.sha256(pdf).hexdigest()})
    if args.json:
        print_json(made)
    else:
        for item in made:
            print(item["file"])
    return 0


def run_list(args) -> int:
    def work(session):
        _, letters = _services()
        if not args.tar:
            raise CliError("give the TAR number", EXIT_BAD_INPUT)
        return [_letter_json(letter) for letter in letters.case_letters(session, args.tar)]

    rows = _run(args, work)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['ref']:<9} {row['kind']:<26} {row['recipient']:<8} {row['language']:<4} {row['status']:<18} "
                  f"mail by {row['mail_by'] or '—'}")
    return 0


def run_queue(args) -> int:
    def work(session):
        _, letters = _services()
        statuses = args.status or letters.OPEN_STATUSES
        return [row.to_json() for row in letters.letter_queue(session, statuses=statuses, limit=args.limit or None)]

    rows = _run(args, work)
    if args.json:
        print_json(rows)
    else:
        for row in rows:
            print(f"{row['mail_by'] or 'no due':<26} {row['tar']:<12} {row['member'][:24]:<24} {row['kind']:<26} "
                  f"{row['recipient']:<8} {row['language']:<4} {row['status']}")
    return 0


def run_issue(args) -> int:
    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        issued = letters.issue_letter(session, letter.id, args.actor,
                                      acknowledge_reading_level=args.accept_reading_level)
        return {**_letter_json(letter), "sha256": issued.sha256, "pages": issued.pages,
                "notice_date": issued.notice_date.isoformat()}

    result = _run(args, work)
    if args.json:
        print_json(result)
    else:
        print(f"Issued letter {result['ref']} of TAR {result['tar']} ({result['kind']}, {result['recipient']}, "
              f"{result['language']}): {result['pages']} pages, SHA-256 {result['sha256']}.")
    return 0


def run_translate(args) -> int:
    texts = {}
    if args.reason:
        texts["member_reason"] = args.reason
    if args.information:
        texts["information_needed"] = args.information
    if args.alternatives:
        texts["covered_alternatives"] = args.alternatives
    if args.service:
        texts["services"] = args.service
    if args.criterion:
        texts["criteria_not_met"] = args.criterion
    if not texts:
        raise CliError("give --reason, --service, --criterion, --information or --alternatives", EXIT_BAD_INPUT)

    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        return _letter_json(letters.add_translation(session, letter.id, args.actor, texts))

    result = _run(args, work)
    print_json(result) if args.json else print(f"Letter {result['ref']} of TAR {result['tar']}: {result['status']}.")
    return 0


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise CliError(f"{option} '{text}' is not a date YYYY-MM-DD", EXIT_BAD_INPUT) from error


def run_effective(args) -> int:
    day = _date(args.date, "--date")

    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        return _letter_json(letters.set_effective_date(session, letter.id, args.actor, day))

    result = _run(args, work)
    print_json(result) if args.json else print(f"Letter {result['ref']}: takes effect {result['effective_date']}.")
    return 0


def run_mark_mailed(args) -> int:
    day = _date(args.date, "--date") if args.date else None

    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        return _letter_json(letters.mark_mailed(session, letter.id, args.actor, mailed_on=day))

    result = _run(args, work)
    print_json(result) if args.json else print(f"Letter {result['ref']} of TAR {result['tar']} mailed "
                                               f"{result['mailed_at']}.")
    return 0


def run_notify_provider(args) -> int:
    from app.cli.deadlines import parse_instant

    sent = parse_instant(args.sent_at, "--sent-at") if args.sent_at else None
    if not args.tar:
        raise CliError("give the TAR number", EXIT_BAD_INPUT)

    def work(session):
        _, letters = _services()
        case = letters.notify_provider(session, args.tar, args.actor, method=args.method, sent_at=sent)
        return {"tar": case.tar, "status": case.status, "method": args.method}

    result = _run(args, work)
    print_json(result) if args.json else print(f"TAR {result['tar']}: provider notified by {result['method']}; "
                                               f"status {result['status']}.")
    return 0


def run_reprint(args) -> int:
    def work(session):
        _, letters = _services()
        letter = _letter_of(session, args)
        issued = letters.reprint(session, letter.id, args.actor)
        return letter.case.tar, issued.pdf, issued.sha256

    tar, pdf, digest = _run(args, work)
    out = _write(args.out, pdf)
    print_json({"file": str(out), "tar": tar, "sha256": digest}) if args.json else print(out)
    return 0


def run_batch(args) -> int:
    _, letters = _services()

    def work(session):
        return [row.letter_id for row in letters.letter_queue(session, statuses=("issued",),
                                                              recipient=args.recipient)]

    ids = _run(args, work)
    if not ids:
        raise CliError("no issued letters are waiting to be mailed", EXIT_BAD_INPUT)
    store = open_store_for(args)
    try:
        pdf = letters.batch_pdf(store, ids, progress=lambda done, total: print(
            f"\r{done}/{total}", end="", file=sys.stderr))
    finally:
        store.close()
    print(file=sys.stderr)
    out = _write(args.out, pdf)
    print_json({"file": str(out), "letters": len(ids)}) if args.json else print(out)
    return 0


def run_set_phone(args) -> int:
    def work(session):
        _, letters = _services()
        user = letters.set_user_phone(session, args.actor, args.username, args.phone)
        return {"username": user.username, "phone": user.phone}

    result = _run(args, work)
    print_json(result) if args.json else print(f"{result['username']}: {result['phone']}")
    return 0
