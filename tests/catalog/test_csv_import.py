"""Bulk import from CSV: Chinese headers, a per-row report, bad rows import nothing of themselves."""
import io

from marketplace.catalog.models import Product
from marketplace.extensions import db
from tests.conftest import main_html, owner_of

CHINESE = (
    "标题,分类,规格,价格(元),库存,产地,滞销,状态\n"
    "秦岭黑木耳,菌菇,250 g 袋,39.80,240,陕西柞水,是,上架\n"
    "坏价格,菌菇,250 g 袋,abc,10,,否,上架\n"
    "负库存,菌菇,250 g 袋,9.90,-1,,否,上架\n"
    "\n"
    "大同黄花菜,干菜,500 g 袋,45.80,100,山西大同,是,草稿\n"
    ",菌菇,1 袋,1.00,1,,否,上架\n"
)


def upload(client, text, encoding="utf-8-sig"):
    return client.post("/my/products/import", data={"file": (io.BytesIO(text.encode(encoding)), "goods.csv")},
                       content_type="multipart/form-data")


def test_import_with_chinese_headers_reports_each_bad_row(client, make, login):
    coop = make.coop()
    login(owner_of(coop))
    page = main_html(upload(client, CHINESE))
    products = db.session.scalars(db.select(Product).order_by(Product.id)).all()
    assert [(p.title, p.price_fen, p.stock, p.surplus, p.status.value) for p in products] == [
        ("秦岭黑木耳", 3980, 240, True, "active"), ("大同黄花菜", 4580, 100, True, "draft")]
    assert all(p.cooperative_id == coop.id for p in products)
    assert "2 products imported" in page and "3 rows refused" in page
    for line in ("<td>3</td>", "<td>4</td>", "<td>7</td>"):
        assert line in page


def test_english_headers_and_price_in_fen(client, make, login):
    login(owner_of(make.coop()))
    upload(client, "title,category,unit,price_fen,stock\nDay lily,dried_vegetables,500 g,4580,3\n", "utf-8")
    assert db.session.scalar(db.select(Product.price_fen)) == 4580


def test_a_file_that_is_not_utf8_csv_is_refused_whole(client, make, login):
    login(owner_of(make.coop()))
    response = upload(client, "标题,价格\n木耳,1.00\n", "gbk")
    assert "UTF-8" in response.get_data(as_text=True)
    response = upload(client, "no,header,here\n1,2,3\n")
    assert "title and price" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Product)) == 0
