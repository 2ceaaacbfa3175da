"""Intake (issue 11): the rules a request meets on its way in, whatever the channel (form, fax, CSV, FHIR PAS).

Pure Python: no Qt, no SQLAlchemy. `draft` is the one shape every channel maps a request to; `codes` checks the
identifiers and codes it carries; `requirements` lists what the plan needs and is missing; `authlist` says whether
the service needs prior authorization or belongs to a carve-out; `late` flags late post-service requests; `pas` and
`csvfile` read the two file formats; `claimresponse` writes the answer back out.
"""
