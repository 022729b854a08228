"""The Simplified Chinese catalog: complete, compiled, and chosen the right way.

The catalog check extracts messages afresh from the current sources with the
same babel.cfg and keywords that docs/translations.md documents, so a new UI
string without a zh_CN translation fails here with the list of missing ones.
"""
import io
import os
import re

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from marketplace.auth.models import Role
from marketplace.catalog.models import ProductStatus
from marketplace.coops.models import CoopStatus, MemberRole

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "marketplace", "translations")
#: Flask-Babel looks the catalog up by str(Locale.parse("zh_CN")), which Babel expands
#: to "zh_Hans_CN" (CLDR likely script); a directory named zh_CN would never be loaded.
ZH_DIR = str(Locale.parse("zh_CN"))
PO_PATH = os.path.join(TRANSLATIONS, ZH_DIR, "LC_MESSAGES", "messages.po")
MO_PATH = os.path.join(TRANSLATIONS, ZH_DIR, "LC_MESSAGES", "messages.mo")
#: the same keywords as `pybabel extract -k _l -k lazy_gettext` (plus Babel's defaults)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
ZH_ACCEPT = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN_ACCEPT = {"Accept-Language": "en-US,en;q=0.9"}


def _key(msgid):
    return tuple(msgid) if isinstance(msgid, (list, tuple)) else msgid


def _strings(msgstr):
    return list(msgstr) if isinstance(msgstr, (list, tuple)) else [msgstr]


@pytest.fixture(scope="module")
def po():
    with open(PO_PATH, "rb") as f:
        return read_po(f, locale="zh_CN")


@pytest.fixture(scope="module")
def extracted():
    """msgid -> first source location, extracted now from marketplace/ and templates/."""
    with open(os.path.join(ROOT, "babel.cfg"), encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, filename="babel.cfg")
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        msgid = message if isinstance(message, str) else tuple(message[:2])
        if (msgid[0] if isinstance(msgid, tuple) else msgid):
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_extraction_sees_code_templates_and_enum_labels(extracted):
    files = {where.rsplit(":", 1)[0].replace(os.sep, "/") for where in extracted.values()}
    assert any(f.startswith("templates/") for f in files)
    assert any(f.startswith("marketplace/") and f.endswith(".py") for f in files)
    assert not any(f.startswith(("tests/", "bench/", "migrations/")) for f in files)
    assert "All goods" in extracted and "Please log in to continue." in extracted
    assert ("%(num)d product", "%(num)d products") in extracted


def test_every_extracted_message_has_a_chinese_translation(po, extracted):
    missing = []
    for msgid, where in sorted(extracted.items(), key=lambda kv: kv[1]):
        message = po.get(msgid[0] if isinstance(msgid, tuple) else msgid)
        if (message is None or message.fuzzy or not all(s.strip() for s in _strings(message.string))
                or (isinstance(msgid, tuple) and not message.pluralizable)):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, ("These UI strings have no zh_CN translation (see docs/translations.md):\n"
                         + "\n".join(missing))


def test_catalog_has_no_fuzzy_or_empty_entries(po):
    assert not po.fuzzy, "the catalog header is marked fuzzy"
    bad = [m.id for m in po if m.id and (m.fuzzy or not all(s.strip() for s in _strings(m.string)))]
    assert not bad, f"fuzzy or empty entries: {bad}"
    assert po.num_plurals == 1
    for m in po:
        if m.id and m.pluralizable:
            assert len(_strings(m.string)) == 1, m.id


@pytest.mark.parametrize("enum", [CoopStatus, ProductStatus, MemberRole, Role])
def test_enum_values_shown_in_templates_are_translated(po, enum):
    for member in enum:
        message = po.get(member.value)
        assert message is not None and message.string and not message.fuzzy, (
            f"{enum.__name__}.{member.name}: add it to marketplace/translations/enum_labels.py")
        assert message.string != member.value


def test_placeholders_are_preserved(po):
    wrong = []
    for m in po:
        if not m.id:
            continue
        ids = _strings(m.id)
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for plural_id in ids[1:]:
            assert set(PLACEHOLDER.findall(plural_id)) == wanted, m.id
        for text in _strings(m.string):
            # Jinja's newstyle gettext always %-formats: a stray % would break the page.
            if set(PLACEHOLDER.findall(text)) != wanted or _stray_percent(text) != _stray_percent(ids[0]):
                wrong.append((m.id, text))
    assert not wrong, f"placeholders differ between msgid and msgstr: {wrong}"


def _stray_percent(text):
    return PLACEHOLDER.sub("", text).replace("%%", "").count("%")


def test_compiled_mo_matches_po(po):
    """The committed .mo is what the app loads; it must be compiled from the current .po."""
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    with open(MO_PATH, "rb") as f:
        committed = read_mo(f)
    fresh = read_mo(compiled)

    def messages(catalog: Catalog):
        return {_key(m.id): _key(m.string) for m in catalog if m.id}

    assert messages(committed) == messages(fresh), (
        "messages.mo is stale: run `pybabel compile -d marketplace/translations`")
    assert len(messages(committed)) == len([m for m in po if m.id])


@pytest.mark.parametrize("msgid,expected", [
    ("All goods", "全部商品"), ("Search", "搜索"), ("Log in", "登录"), ("Surplus", "滞销好货"),
    ("Cooperatives", "合作社"), ("Rural Goods Market", "乡村好物集市"),
])
def test_agreed_wording(po, msgid, expected):
    # Browser tests and the brand rely on these exact words.
    assert po.get(msgid).string == expected


# --- locale selection -----------------------------------------------------------------

def _page(client, path="/", **kwargs):
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _is_chinese(html):
    return 'lang="zh-CN"' in html and "全部商品" in html and "All goods" not in html


def _is_english(html):
    return '<html lang="en">' in html and "All goods" in html and "全部商品" not in html


def test_accept_language_picks_chinese(client):
    html = _page(client, headers=ZH_ACCEPT)
    assert _is_chinese(html)
    assert "乡村好物集市" in html and "滞销好货" in html


@pytest.mark.parametrize("header", ["zh", "zh-CN", "zh-cn,en;q=0.5", "zh_CN"])
def test_accept_language_variants_of_chinese(client, header):
    assert _is_chinese(_page(client, headers={"Accept-Language": header}))


@pytest.mark.parametrize("header", ["en-US,en;q=0.9", "fr-FR", ""])
def test_english_otherwise(client, header):
    assert _is_english(_page(client, headers={"Accept-Language": header} if header else {}))


def test_language_switch_overrides_accept_language(client):
    assert _is_english(_page(client, headers=EN_ACCEPT))

    response = client.post("/language", data={"lang": "zh_CN", "next": "/products"}, headers=EN_ACCEPT)
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")
    assert _is_chinese(_page(client, headers=EN_ACCEPT))

    client.post("/language", data={"lang": "klingon"}, headers=EN_ACCEPT)
    assert _is_chinese(_page(client, headers=EN_ACCEPT)), "an unknown language must change nothing"

    client.post("/language", data={"lang": "en"}, headers=ZH_ACCEPT)
    assert _is_english(_page(client, headers=ZH_ACCEPT))

    client.post("/language", data={}, headers=ZH_ACCEPT)
    assert _is_english(_page(client, headers=ZH_ACCEPT))


def test_switch_offers_the_other_language(client):
    html = _page(client, headers=EN_ACCEPT)
    assert 'value="zh_CN"' in html and "简体中文" in html and 'value="en"' not in html
    html = _page(client, headers=ZH_ACCEPT)
    assert 'value="en"' in html and 'value="zh_CN"' not in html


def test_chosen_language_is_remembered_for_the_account(client, make, login):
    user = make.user()
    login(user)
    client.post("/language", data={"lang": "zh_CN"})
    assert user.locale == "zh_CN"
    with client.session_transaction() as session:
        session.pop("lang", None)  # e.g. a new session: the account's choice still applies
    assert _is_chinese(_page(client, headers=EN_ACCEPT))



def test_language_chosen_before_login_survives_the_login(client, make, login):
    """Login starts a new session (no fixation); the visitor's language choice is kept."""
    user = make.user()
    client.post("/language", data={"lang": "zh_CN"}, headers=EN_ACCEPT)
    login(user)
    assert _is_chinese(_page(client, headers=EN_ACCEPT))

# --- pages in Chinese --------------------------------------------------------------

def test_catalog_in_chinese_uses_plural_forms_and_labels(client, make):
    make.product(title="黑木耳", surplus=True)
    html = _page(client, "/products", headers=ZH_ACCEPT)
    assert "1 件商品" in html and "综合排序" in html and "菌菇" in html and "滞销好货" in html
    html = _page(client, "/products?q=nothing-matches", headers=ZH_ACCEPT)
    assert "0 件商品" in html and "暂时没有找到相关商品" in html


def test_forms_and_field_labels_in_chinese(client):
    html = _page(client, "/login", headers=ZH_ACCEPT)
    assert "邮箱" in html and "密码" in html and "忘记密码？" in html
    html = _page(client, "/signup", headers=ZH_ACCEPT)
    assert "您的称呼" in html and "注册新账户" in html


def test_status_and_role_values_are_translated_on_pages(client, make, login):
    coop = make.coop(status="pending")
    owner = next(m.user for m in coop.memberships if m.role.value == "owner")
    login(owner)
    html = _page(client, f"/cooperatives/{coop.id}", headers=ZH_ACCEPT)
    assert "未公开：当前状态为“待审核”" in html
    html = _page(client, "/account", headers=ZH_ACCEPT)
    assert " · 买家</p>" in html and "修改密码" in html


def test_staff_review_page_in_chinese(client, make, login):
    make.coop(status="pending", name="木耳合作社")
    login(make.staff())
    html = _page(client, "/staff/cooperatives?status=pending", headers=ZH_ACCEPT)
    for label in ("待审核", "已认证", "已驳回", "已暂停", "认证通过", "驳回", "原因（驳回时必填）"):
        assert label in html, label
    assert ">pending<" not in html and ">verified<" not in html


def test_error_pages_in_chinese(client):
    response = client.get("/no-such-page", headers=ZH_ACCEPT)
    assert response.status_code == 404
    assert "找不到该页面" in response.get_data(as_text=True)
