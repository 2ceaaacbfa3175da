"""Combining answers up the tree, and the overall result a reviewer acts on.

Answers are met / not-met / not-applicable / unknown. Groups combine their children's answers with three-valued
(Kleene) logic, not-applicable children left out:

* ALL: not-met if any child is not-met; else unknown if any is unknown; else met.
* ANY: met if any child is met; else unknown if any is unknown; else not-met.
* AT LEAST n: met when n children are met; unknown when the met and unknown children could still reach n;
  else not-met. Not-applicable children do not count towards n (n is never lowered).
* A group whose children are all not-applicable is itself not-applicable.

So an unknown never turns into met, and a decided answer never waits on an unknown that cannot change it.

The overall result never denies (H&SC 1367.01(e); SB 1120): criteria met lets a nurse (or a pharmacy technician,
for P&T criteria) approve; anything else goes on to a reviewer or a physician.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from app.domain.criteria.facts import CaseFacts
from app.domain.criteria.model import ANSWERS, CriteriaSet, Criterion, Group, Node
from app.domain.criteria.rules import MET, NOT_APPLICABLE, NOT_MET, UNKNOWN, RuleOutcome, evaluate_rule

RESULTS = {
    "criteria-met": "Criteria met",
    "not-met": "Criteria not met",
    "incomplete": "Incomplete",
    "no-criteria": "No criteria apply",
    "epsdt-review": "Under 21: EPSDT standard applies",
}
ROUTES = {
    "may-approve": "You may approve",
    "refer": "Refer to a physician reviewer",
    "continue-review": "Answer the open criteria or pend for information",
}
EPSDT_AGE = 21
EPSDT_CITATION = "W&I Code 14059.5(b); 42 U.S.C. 1396d(r)(5)"
EPSDT_TEXT = (
    "The member is under 21. Medi-Cal covers what is needed to correct or ameliorate the member's condition "
    f"(EPSDT, {EPSDT_CITATION}), a broader standard than adult criteria. Adult criteria that are not met never lead "
    "to a denial or an approval on their own: a physician reviews the request under the EPSDT standard."
)
NEVER_DENIES = ("Only a physician may deny, delay or modify a request for medical necessity "
                "(H&SC 1367.01(e)); the software never denies.")


def combine(how: str, n: int | None, answers: list[str]) -> str:
    """One group's answer from its children's answers (see the module doc)."""
    applicable = [answer for answer in answers if answer != NOT_APPLICABLE]
    if not applicable:
        return NOT_APPLICABLE
    met = applicable.count(MET)
    unknown = applicable.count(UNKNOWN)
    if how == "all":
        return NOT_MET if NOT_MET in applicable else UNKNOWN if unknown else MET
    if how == "any":
        return MET if met else UNKNOWN if unknown else NOT_MET
    if how == "at-least":
        need = n or 1
        return MET if met >= need else UNKNOWN if met + unknown >= need else NOT_MET
    raise ValueError(f"unknown combination {how!r}")


def node_answers(cset: CriteriaSet, leaf_answers: Mapping[str, str]) -> dict[str, str]:
    """The answer of every node (criteria and groups) from the criteria's answers; a missing answer is unknown."""
    answers: dict[str, str] = {}

    def visit(node: Node) -> str:
        if isinstance(node, Group):
            answer = combine(node.combine, node.n, [visit(child) for child in node.children])
        else:
            answer = leaf_answers.get(node.id, UNKNOWN)
            if answer not in ANSWERS:
                raise ValueError(f"unknown answer {answer!r} for criterion {node.id}")
        answers[node.id] = answer
        return answer

    visit(cset.root)
    return answers


@dataclass(frozen=True)
class EpsdtNotice:
    applies: bool | None  # None: the member's age is unknown
    age_years: int | None
    text: str
    citation: str = EPSDT_CITATION

    def to_json(self) -> dict:
        return {"applies": self.applies, "age_years": self.age_years, "text": self.text, "citation": self.citation}


@dataclass(frozen=True)
class OverallResult:
    result: str  # a key of RESULTS; never a denial
    route: str  # a key of ROUTES
    message: str
    open_criteria: tuple[str, ...] = ()
    not_met_criteria: tuple[str, ...] = ()
    epsdt: EpsdtNotice | None = None

    @property
    def label(self) -> str:
        return RESULTS[self.result]

    @property
    def may_approve(self) -> bool:
        return self.route == "may-approve"

    def to_json(self) -> dict:
        return {"result": self.result, "label": self.label, "route": self.route, "may_approve": self.may_approve,
                "message": self.message, "open_criteria": list(self.open_criteria),
                "not_met_criteria": list(self.not_met_criteria),
                "epsdt": self.epsdt.to_json() if self.epsdt else None}


def epsdt_notice(cset: CriteriaSet | None, age_years: int | None) -> EpsdtNotice | None:
    """For an adult-only set: whether the EPSDT standard applies (under 21 at receipt), or may (age unknown)."""
    if cset is None or not cset.adult_only:
        return None
    if age_years is None:
        return EpsdtNotice(None, None, "The member's age is not recorded. If the member is under 21, the EPSDT "
                                       f"standard applies ({EPSDT_CITATION}): adult criteria that are not met go "
                                       "to a physician.")
    if age_years < EPSDT_AGE:
        return EpsdtNotice(True, age_years, EPSDT_TEXT)
    return None


def no_criteria_result(note: str = "") -> OverallResult:
    message = ("No criteria apply: refer to a physician, board-certified in the same or a similar specialty as the "
               "service, who decides on training, experience, community standards and the member's needs.")
    return OverallResult("no-criteria", "refer", message + (f" Note: {note}" if note else ""))


def overall(cset: CriteriaSet, answers: Mapping[str, str], age_years: int | None,
            pharmacy: bool | None = None) -> OverallResult:
    """The result of a set with these criterion answers, for a member of this age at receipt."""
    nodes = node_answers(cset, answers)
    leaves = [node for node in cset.criteria()]
    open_ids = tuple(c.id for c in leaves if nodes[c.id] == UNKNOWN)
    not_met_ids = tuple(c.id for c in leaves if nodes[c.id] == NOT_MET)
    root = nodes[cset.root.id]
    epsdt = epsdt_notice(cset, age_years)
    pharmacy = ("medication" in cset.service_categories) if pharmacy is None else pharmacy
    refer = ("Refer: a pharmacy technician escalates to a clinical pharmacist, who refers to a physician. "
             if pharmacy else "Refer to a physician reviewer. ")
    if root == MET:
        message = "All required criteria are met: you may approve."
        if epsdt and epsdt.applies:
            message += " (The member is under 21; meeting the adult criteria also meets the broader EPSDT standard.)"
        return OverallResult("criteria-met", "may-approve", message, open_ids, not_met_ids, epsdt)
    if root == UNKNOWN:
        message = (f"{len(open_ids)} {'criterion is' if len(open_ids) == 1 else 'criteria are'} still unknown: "
                   "answer from the record, or pend the request for information.")
        return OverallResult("incomplete", "continue-review", message, open_ids, not_met_ids, epsdt)
    if epsdt and epsdt.applies:
        return OverallResult("epsdt-review", "refer", f"{EPSDT_TEXT} {refer}{NEVER_DENIES}", open_ids, not_met_ids,
                             epsdt)
    if root == NOT_APPLICABLE:
        return OverallResult("no-criteria", "refer",
                             "Every criterion of this set was answered not applicable, so the set does not fit this "
                             "request: choose another set, or record that no criteria apply and refer to a "
                             "physician.", open_ids, not_met_ids, epsdt)
    message = f"The criteria are not met as answered. {refer}{NEVER_DENIES}"
    if age_years is not None and age_years < EPSDT_AGE:
        message += f" The member is under 21: the physician applies the EPSDT standard ({EPSDT_CITATION})."
    return OverallResult("not-met", "refer", message, open_ids, not_met_ids, epsdt)


@dataclass(frozen=True)
class Evaluation:
    """A set applied to a case: the machine's answers, the answers used, every node's answer and the result."""

    set: CriteriaSet
    machine: dict[str, RuleOutcome]  # criterion id -> outcome, for criteria with a machine rule
    answers: dict[str, str]  # criterion id -> the answer used (reviewer's if given, else the machine's)
    nodes: dict[str, str]  # every node id -> answer
    result: OverallResult
    facts: CaseFacts | None = field(default=None, repr=False)


def machine_answers(cset: CriteriaSet, facts: CaseFacts) -> dict[str, RuleOutcome]:
    return {c.id: evaluate_rule(c.rule, facts) for c in cset.criteria() if c.rule is not None}


def evaluate(cset: CriteriaSet, facts: CaseFacts, reviewer: Mapping[str, str] | None = None) -> Evaluation:
    """Run every machine rule of the set on the facts; a reviewer's answer, when given, is used instead."""
    machine = machine_answers(cset, facts)
    answers = {cid: outcome.answer for cid, outcome in machine.items()}
    answers.update(reviewer or {})
    nodes = node_answers(cset, answers)
    return Evaluation(cset, machine, answers, nodes, overall(cset, answers, facts.age()), facts)


def walk(cset: CriteriaSet) -> list[tuple[int, Node]]:
    """(depth, node) for every node under the root, in file order: the checklist's rows."""
    rows: list[tuple[int, Node]] = []

    def visit(node: Node, depth: int) -> None:
        rows.append((depth, node))
        if isinstance(node, Group):
            for child in node.children:
                visit(child, depth + 1)

    for child in cset.root.children:
        visit(child, 0)
    return rows


def is_criterion(node: Node) -> bool:
    return isinstance(node, Criterion)
