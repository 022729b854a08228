"""Storefront pages for everyone, and the header's language switch."""
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..coops.models import CoopStatus, Cooperative
from ..extensions import db
from . import changes  # noqa: F401 - commits that change the storefront empty its caches
from .categories import CATEGORIES
from .models import Product, ProductStatus
from .memo import catalog_memo
from .search import CatalogQuery, cursor_after, parse_query, run_catalog
from .services import visible_product

bp = Blueprint("catalog", __name__)


@bp.before_app_request
def switch_language():
    """`?lang=zh_CN` on any page switches the language, then shows the page again without it.

    The header's language buttons send this for visitors (a GET form): a page that
    offers them then needs no CSRF token, hence no session, so anonymous pages can come
    from the page cache. The choice goes into the session only; members' buttons post
    to /language, which also keeps it in their account (a GET writes no database)."""
    lang = request.args.get("lang")
    if lang is None or request.method != "GET" or request.path.startswith("/api/"):
        return None
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    rest = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return redirect(request.script_root + request.path + ("?" + urlencode(rest) if rest else ""))


@bp.get("/")
def home():
    surplus, _ = run_catalog(db.session, CatalogQuery(surplus=True, per_page=8), with_total=False)
    newest, _ = run_catalog(db.session, CatalogQuery(sort="newest", per_page=8), with_total=False)
    coops = db.session.scalars(select(Cooperative).where(Cooperative.status == CoopStatus.verified)
                               .order_by(Cooperative.verified_at.desc()).limit(6)).all()
    from ..livestream.services import upcoming_and_live  # the "Upcoming and live now" section

    return render_template("catalog/home.html", surplus=surplus, newest=newest, coops=coops,
                           categories=CATEGORIES, shows=upcoming_and_live())


@bp.get("/products")
def catalog():
    args = request.args.to_dict()
    # The HTML form speaks yuan; the query speaks fen.
    for name in ("min_price", "max_price"):
        if args.get(name):
            args[f"{name}_fen"] = _yuan_to_fen_or_none(args[name])
    cq = parse_query(args, current_app.config["CATALOG_PAGE_SIZE"])
    products, total = run_catalog(db.session, cq, after=request.args.get("after"))
    # "Next" continues from this page's last row (keyset) where the order allows it
    next_after = cursor_after(products[-1], cq.sort) if products and not cq.q else None
    return render_template("catalog/catalog.html", products=products, total=total, cq=cq, next_after=next_after,
                           categories=CATEGORIES, provinces=_provinces(), args=request.args)


def _provinces():
    """Provinces with a verified cooperative, for the filter form (a scan; kept a minute)."""
    return catalog_memo().get(("provinces",), lambda: db.session.scalars(
        select(Cooperative.province).where(Cooperative.status == CoopStatus.verified)
        .distinct().order_by(Cooperative.province)).all())


def _yuan_to_fen_or_none(text):
    from ..core.money import parse_yuan

    try:
        return str(parse_yuan(text))
    except ValueError:
        return None


@bp.get("/products/<int:product_id>")
def product(product_id):
    item = visible_product(product_id, current_user)
    more = db.session.scalars(select(Product).where(
        Product.cooperative_id == item.cooperative_id, Product.id != item.id,
        Product.status == ProductStatus.active).options(joinedload(Product.cooperative))
        .order_by(Product.surplus.desc(), Product.id.desc()).limit(4)).all()
    from ..households.impact import product_share  # the households' part of this sale

    return render_template("catalog/product.html", product=item, coop=item.cooperative, more=more,
                           household_share=product_share(item))

