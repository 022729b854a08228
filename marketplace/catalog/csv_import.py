"""Bulk product import from CSV (UTF-8, with or without BOM; English or Chinese headers).

Each row is validated and inserted inside its own savepoint: a bad row imports
nothing of itself and is reported with its line number and reasons; good rows
are kept.
"""
import csv
import io
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from ..core.errors import DomainError, Invalid
from ..core.money import parse_yuan
from ..extensions import db
from .services import EDITORS, create_product
from ..coops.services import ensure_member

#: header (as written, lower-cased) -> product field
HEADERS = {
    "title": "title", "标题": "title", "名称": "title", "商品名称": "title",
    "description": "description", "描述": "description", "商品描述": "description",
    "category": "category", "分类": "category", "类别": "category",
    "origin": "origin", "产地": "origin",
    "unit": "unit", "规格": "unit", "单位": "unit",
    "price": "price", "price_yuan": "price", "价格": "price", "价格(元)": "price", "价格（元）": "price",
    "price_fen": "price_fen", "价格(分)": "price_fen",
    "stock": "stock", "库存": "stock",
    "per_buyer_limit": "per_buyer_limit", "限购": "per_buyer_limit",
    "harvest_date": "harvest_date", "采收日期": "harvest_date",
    "shelf_life_days": "shelf_life_days", "保质期(天)": "shelf_life_days", "保质期（天）": "shelf_life_days",
    "status": "status", "状态": "status",
    "surplus": "surplus", "滞销": "surplus", "滞销品": "surplus",
}
STATUS_ALIASES = {"草稿": "draft", "上架": "active", "在售": "active", "下架": "archived"}
MAX_ROWS = 5000


@dataclass
class ImportReport:
    created: list = field(default_factory=list)  #: (line, product id)
    errors: list = field(default_factory=list)  #: (line, [messages])


def import_products(user, coop, raw: bytes) -> ImportReport:
    ensure_member(user, coop, EDITORS)
    reader = _reader(raw)
    report = ImportReport()
    for count, row in enumerate(reader, start=1):
        line = reader.line_num  # the file's own line number, blank lines included
        if count > MAX_ROWS:
            report.errors.append((line, [str(_l("Only the first %(n)d rows are imported.", n=MAX_ROWS))]))
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        _import_row(user, coop, line, row, report)
    return report


def _reader(raw: bytes):
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(_l("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."),
                      code="invalid_csv") from None
    reader = csv.DictReader(io.StringIO(text))
    known = [HEADERS.get((h or "").strip().lower()) for h in (reader.fieldnames or [])]
    if "title" not in known or not ({"price", "price_fen"} & set(known)):
        raise Invalid(_l("The first line must name the columns, including title and price."),
                      code="invalid_csv")
    reader.fieldnames = [HEADERS.get((h or "").strip().lower(), f"_ignored_{i}")
                         for i, h in enumerate(reader.fieldnames)]
    return reader


def _import_row(user, coop, line, row, report):
    data = {k: v for k, v in row.items() if k and not k.startswith("_ignored_") and v is not None}
    try:
        data = _convert(data)
        with db.session.begin_nested():
            product = create_product(user, coop, data)
        report.created.append((line, product.id))
    except DomainError as err:
        messages = [f"{name}: {msgs[0]}" for name, msgs in err.fields.items()] or [str(err.message)]
        report.errors.append((line, [str(m) for m in messages]))


def _convert(data: dict) -> dict:
    if "price" in data and not data.get("price_fen"):
        try:
            data["price_fen"] = parse_yuan(data.pop("price"))
        except ValueError:
            raise Invalid(_l("Enter the price in yuan, e.g. 12.50."),
                          fields={"price": [_l("Enter the price in yuan, e.g. 12.50.")]}) from None
    status = (data.get("status") or "").strip()
    data["status"] = STATUS_ALIASES.get(status, status.lower() or "active")
    return data
