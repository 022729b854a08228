"""Storefront pages for everyone."""
from flask import Blueprint, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..coops.models import CoopStatus, Cooperative
from ..extensions import db
from .categories import CATEGORIES
from .models import Product, ProductStatus
from .search import CatalogQuery, parse_query, run_catalog
from .services import visible_product

bp = Blueprint("catalog", __name__)


@bp.get("/")
def home():
    surplus, _ = run_catalog(db.session, CatalogQuery(surplus=True, per_page=8))
    newest, _ = run_catalog(db.session, CatalogQuery(sort="newest", per_page=8))
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
    products, total = run_catalog(db.session, cq)
    provinces = db.session.scalars(select(Cooperative.province).where(Cooperative.status == CoopStatus.verified)
                                   .distinct().order_by(Cooperative.province)).all()
    return render_template("catalog/catalog.html", products=products, total=total, cq=cq,
                           categories=CATEGORIES, provinces=provinces, args=request.args)


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

