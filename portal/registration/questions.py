"""Registration questions (issue 12, point 7): the organizer's extra fields of a webinar's
registration form — text, choice or checkbox, required or not — and the check of a visitor's
answers. Plain functions: the public form and the organizer's page call them."""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from portal.core.models import Webinar
from portal.errors import N_, Invalid
from portal.extensions import db
from portal.registration.models import QUESTION_KINDS, RegistrationQuestion

MAX_QUESTIONS = 10
LABEL_MAX = 200
ANSWER_MAX = 500
MAX_OPTIONS = 20
OPTION_MAX = 100
YES = "yes"


def field_name(question: RegistrationQuestion) -> str:
    """The form field of a question: `q_<question_id>`."""
    return f"q_{question.question_id}"


# Built once: every registration POST asks (issue 14: statement building was measurable).
_OF = (select(RegistrationQuestion).where(RegistrationQuestion.webinar_id == bindparam("webinar_id"))
       .order_by(RegistrationQuestion.position, RegistrationQuestion.question_id))


def of(webinar: Webinar) -> list[RegistrationQuestion]:
    """The webinar's questions in form order."""
    return list(db.session.scalars(_OF, {"webinar_id": webinar.webinar_id}))


def _clean(raw: object, *, limit: int) -> str:
    text = unicodedata.normalize("NFC", str(raw or "")).replace("\r\n", "\n").strip()
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")[:limit + 1]


def answers_from(questions: list[RegistrationQuestion], form: Mapping[str, str]) -> dict[str, str]:
    """The visitor's answers keyed by question id, or Invalid with every field's message in
    details["fields"] (field name -> message msgid); nothing is stored by the caller then."""
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for q in questions:
        name = field_name(q)
        value = _clean(form.get(name), limit=ANSWER_MAX)
        if q.kind == "checkbox":
            value = YES if value else ""
        elif q.kind == "choice" and value and value not in (q.options or []):
            errors[name] = N_("Choose one of the offered answers.")
            continue
        elif len(value) > ANSWER_MAX:
            errors[name] = N_("Please use at most 500 characters.")
            continue
        if q.required and not value:
            errors[name] = (N_("Please tick this box to register.") if q.kind == "checkbox"
                            else N_("Please answer this question."))
            continue
        if value:
            answers[str(q.question_id)] = value
    if errors:
        raise Invalid("Please correct the marked fields.", details={"fields": errors})
    return answers


@dataclass
class QuestionInput:
    """What the organizer typed for one question."""

    label: str
    kind: str = "text"
    options: str = ""  # choice: one answer per line
    required: bool = False


def _checked(data: QuestionInput) -> tuple[str, str, list[str] | None, bool]:
    label = _clean(data.label, limit=LABEL_MAX).replace("\n", " ")
    errors: dict[str, str] = {}
    if not label:
        errors["label"] = N_("Write the question.")
    elif len(label) > LABEL_MAX:
        errors["label"] = N_("Please use at most 200 characters.")
    if data.kind not in QUESTION_KINDS:
        errors["kind"] = N_("Choose text, choice or checkbox.")
    options: list[str] | None = None
    if data.kind == "choice":
        options = list(dict.fromkeys(o for o in (_clean(line, limit=OPTION_MAX) for line in data.options.splitlines())
                                     if o))
        if len(options) < 2:
            errors["options"] = N_("A choice needs at least two answers, one per line.")
        elif len(options) > MAX_OPTIONS or any(len(o) > OPTION_MAX for o in options):
            errors["options"] = N_("At most 20 answers of at most 100 characters each.")
    if errors:
        raise Invalid("Please correct the marked fields.", details={"fields": errors})
    return label, data.kind, options, bool(data.required)


def add(webinar: Webinar, data: QuestionInput) -> RegistrationQuestion:
    """Append a question to the webinar's form (the caller commits)."""
    label, kind, options, required = _checked(data)
    count = db.session.scalar(select(func.count()).select_from(RegistrationQuestion)
                              .where(RegistrationQuestion.webinar_id == webinar.webinar_id)) or 0
    if count >= MAX_QUESTIONS:
        raise Invalid("A registration form can have at most %(n)s questions.", n=MAX_QUESTIONS)
    question = RegistrationQuestion(webinar_id=webinar.webinar_id, position=count + 1, label=label, kind=kind,
                                    options=options, required=required)
    db.session.add(question)
    return question


def remove(webinar: Webinar, question_id: int) -> bool:
    """Take a question off the form; answers already given stay on their registrations."""
    question = db.session.get(RegistrationQuestion, question_id)
    if question is None or question.webinar_id != webinar.webinar_id:
        return False
    db.session.delete(question)
    return True
