"""Storefront pages for everyone, and the header's language switch."""
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..coops.models import CoopStatus, Cooperative
from ..core.db import without_transaction
from ..core.errors import NotFound
from ..extensions import db
from . import changes  # noqa: F401 - commits that change the storefront empty its caches
from . import fragments
from .categories import CATEGORIES
from .fragments import card_key
from .memo import catalog_memo
from .product_page import read_product_page
from .search import CatalogQuery, cursor_after, parse_query, run_catalog
from .services import may_view

bp = Blueprint("catalog", __name__)
bp.record_once(lambda state: fragments.init_app(state.app))  # product_cards() for every template


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
    without_transaction(db.session())  # (the storefront's pages only read)
    surplus, _ = run_catalog(db.session, CatalogQuery(surplus=True, per_page=8), with_total=False, cards_only=True)
    newest, _ = run_catalog(db.session, CatalogQuery(sort="newest", per_page=8), with_total=False, cards_only=True)
    coops = db.session.scalars(select(Cooperative).where(Cooperative.status == CoopStatus.verified)
                               .order_by(Cooperative.verified_at.desc()).limit(6)).all()
    from ..livestream.services import upcoming_and_live  # the "Upcoming and live now" section

    return render_template("catalog/home.html", surplus=surplus, newest=newest, coops=coops,
                           categories=CATEGORIES, shows=upcoming_and_live())


@bp.get("/products")
def catalog():
    without_transaction(db.session())
    args = request.args.to_dict()
    # The HTML form speaks yuan; the query speaks fen.
    for name in ("min_price", "max_price"):
        if args.get(name):
            args[f"{name}_fen"] = _yuan_to_fen_or_none(args[name])
    cq = parse_query(args, current_app.config["CATALOG_PAGE_SIZE"])
    products, total = run_catalog(db.session, cq, after=request.args.get("after"), cards_only=True)
    # "Next" continues from this page's last row (keyset) where the order allows it
    next_after = cursor_after(products[-1], cq.sort) if products and not cq.q else None
    provinces = _provinces()
    # everything the listing shows (filters, count, cards, pager): it is rendered again only
    # when one of these changes (catalog.fragments)
    listing_key = ("catalog", tuple(request.args.items(multi=True)), cq.values(), total, tuple(provinces), next_after,
                   tuple(map(card_key, products)))
    return render_template("catalog/catalog.html", products=products, total=total, cq=cq, next_after=next_after,
                           categories=CATEGORIES, provinces=provinces, args=request.args, listing_key=listing_key)


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
    without_transaction(db.session())
    page = read_product_page(db.session, product_id)
    if page is None or not may_view(current_user, page.product):
        raise NotFound(_l("No such product."))
    from ..households.impact import share_line  # (households build on the catalog)

    item = page.product
    share = share_line(page.share)
    # the read's tuples hold everything the page shows but its form: the parts around the
    # form are rendered again only when one of them changes
    return render_template("catalog/product.html", product=item, coop=item.cooperative, more=page.more,
                           household_share=share, page_key=(item, page.share, page.more))
