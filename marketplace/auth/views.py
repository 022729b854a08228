"""Sign up, log in and out, password change and reset, language choice."""
from urllib.parse import urlparse

from flask import (Blueprint, current_app, flash, redirect, render_template, request,
                   session, url_for)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..core.errors import DomainError
from ..core.forms import EmptyForm, apply_errors, form_status
from ..core.mail import send_mail
from ..extensions import db, limiter
from ..web import select_locale
from . import services
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm, SignupForm

bp = Blueprint("auth", __name__)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _signup_limit():
    return current_app.config["SIGNUP_RATE_LIMIT"]


def _safe_next(target):
    """Only same-site paths; never an absolute URL an attacker put in ?next=."""
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("catalog.home")


#: what a visitor chose before logging in and keeps after: choices, not privileges
CARRIED_INTO_SESSION = ("cart", "lang")


def _start_session(user):
    """A new session on login: nothing from before survives but the visitor's cart and
    language choice, and the cookie names a fresh server-side session row."""
    carried = {key: session[key] for key in CARRIED_INTO_SESSION if key in session}
    session.clear()
    session.update(carried)
    services.open_session(user, request.user_agent.string or "")
    db.session.commit()
    login_user(user)
    session.permanent = True


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as err:
            flash(str(err.message), "error")
        else:
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.password.data, form.display_name.data)
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            _start_session(user)
            flash(_("Welcome, %(name)s!", name=user.display_name), "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/signup.html", form=form), form_status(form)


@bp.post("/logout")
@login_required
def logout():
    services.close_session(current_user)  # the cookie is dead even if replayed
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are logged out."), "success")
    return redirect(url_for("catalog.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            db.session.commit()
            flash(_("Your password is changed. Other sessions are logged out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form), form_status(form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.active:
            link = url_for("auth.reset_password", token=services.make_reset_token(user), _external=True)
            with force_locale(user.locale or select_locale()):
                send_mail(user.email, _("Reset your password"),
                          _("Open this link within an hour to choose a new password:\n%(link)s\n\n"
                            "If you did not ask for this, ignore this mail.", link=link))
        # The same answer whether or not the account exists.
        flash(_("If an account exists for that email, we have sent a link to reset the password."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    user = services.user_for_reset_token(token)
    if user is None:
        flash(_("This reset link is invalid, used or expired. Ask for a new one."), "error")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(user, form.password.data)
        except DomainError as err:
            db.session.rollback()
            apply_errors(form, err)
        else:
            _start_session(user)
            flash(_("Your new password is set."), "success")
            return redirect(url_for("catalog.home"))
    return render_template("auth/reset.html", form=form), form_status(form)


@bp.post("/language")
def set_language():
    form = EmptyForm()
    lang = request.form.get("lang")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(_safe_next(request.form.get("next")))
