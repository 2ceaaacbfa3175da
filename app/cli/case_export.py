"""`umws case export TAR --format fhir`: the case's answer as a Da Vinci PAS response bundle (ClaimResponse first),
with the decision per item, the authorization number, the specific reason and the criteria cited (CMS-0057-F), for
a portal or payer API to return (app.domain.intake.claimresponse). The read is audited under the operating-system
user, like `umws case show`."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli import EXIT_BAD_INPUT, EXIT_REFUSED, CliError, add_store_option, open_store_for, print_json, warn


def register(actions) -> None:
    export = actions.add_parser("export", help="write the case's answer as a FHIR PAS ClaimResponse bundle")
    export.add_argument("tar", help="TAR number")
    export.add_argument("--format", required=True, choices=("fhir",), help="fhir: a PAS response bundle (JSON)")
    export.add_argument("--output", "-o", default=None, metavar="FILE", help="write to FILE instead of stdout")
    add_store_option(export)
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from app.services.audit import AuditChainError, os_user, record_view
    from app.services.cases import NotFound, case_by_tar
    from app.services.intake import export_claim_response

    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            case = case_by_tar(session, args.tar)
            record_view(session, actor=os_user(), actor_kind="os-user", what="case", case_id=case.id, tar=case.tar,
                        details={"via": "umws case export --format fhir"})
            bundle = export_claim_response(session, args.tar)
    except NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except AuditChainError as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.output:
        target = Path(args.output)
        try:
            target.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", "utf-8")
        except OSError as error:
            raise CliError(f"cannot write {target}: {error.strerror or error}", EXIT_BAD_INPUT) from error
        warn(f"Wrote the ClaimResponse of TAR {args.tar} to {target}.")
    else:
        print_json(bundle)
    return 0
