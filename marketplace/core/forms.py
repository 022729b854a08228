"""Helpers that put service errors onto WTForms forms."""
from flask import flash
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from .errors import DomainError


def apply_errors(form, err: DomainError) -> int:
    """Show each field's error beside that field; anything else at the top.
    Returns the HTTP status to render the form with."""
    placed = False
    for name, messages in err.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [str(m) for m in messages]
            placed = True
    if not placed:
        flash(str(err.message), "error")
    form.error_status = err.status if 400 <= err.status < 500 else 422
    return form.error_status


def form_status(form) -> int:
    """200 for a fresh form; the error's status (422 for invalid input) after a failed post."""
    return getattr(form, "error_status", None) or (422 if form.errors else 200)


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]
