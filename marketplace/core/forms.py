"""Helpers that put service errors onto WTForms forms."""
from flask import flash
from flask_wtf import FlaskForm

from .errors import DomainError


def apply_errors(form, err: DomainError) -> None:
    """Show each field's error beside that field; anything else at the top."""
    placed = False
    for name, messages in err.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [str(m) for m in messages]
            placed = True
    if not placed:
        flash(str(err.message), "error")


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""
