"""Household import from CSV: good rows are kept, bad rows (checksum, duplicates,
missing fields) are refused with their line number and leave nothing behind."""
import io

import pytest
from sqlalchemy import func, select

from marketplace.core.audit import AuditRecord
from marketplace.core.errors import Invalid
from marketplace.extensions import db
from marketplace.households.csv_import import import_households
from marketplace.households.identity import with_check_digit
from marketplace.households.models import Household, HouseholdStatus
from tests.conftest import main_html
from tests.households.test_ledger import household
from tests.households.test_views import client_for

ZH_HEADER = "档案号,户主,身份证号,省,县,乡镇,村,人口,劳动力,状态,同意,建档日期"
EN_HEADER = ("file_no,head_name,id_number,province,county,township,village,members,working_members,status,consent,"
             "enrolled_at")


def number(n):
    return with_check_digit(f"61042619900101{n:03d}")


def row(file_no, name, id_number, status="监测", date="2021/3/9"):
    return f"{file_no},{name},{id_number},陕西省,柞水县,营盘镇,朱家湾村,4,2,{status},同意,{date}"


def households():
    return {h.file_no: h for h in db.session.scalars(select(Household))}


def created_records():
    return db.session.scalar(select(func.count()).select_from(AuditRecord)
                             .where(AuditRecord.action == "household.create"))


@pytest.fixture
def staff(make):
    return make.staff()


def test_chinese_headers_with_bom_good_rows_in_bad_rows_out(staff):
    existing = household(staff, 900)  # already registered: file 610426000900
    db.session.commit()
    bad_checksum = number(2)[:-1] + ("0" if number(2)[-1] != "0" else "1")
    lines = [
        ZH_HEADER,
        row("A-0001", "王芳", number(1)),  # line 2: good
        row("A-0002", "李强", bad_checksum),  # line 3: checksum
        row(existing.file_no, "赵六", number(3)),  # line 4: file number already registered
        row("A-0004", "孙七", number(1)),  # line 5: identity number of line 2
        row("A-0005", "", number(5)),  # line 6: no head of household
        "",  # line 7: blank, skipped
        row("A-0001", "周八", number(8)),  # line 8: file number of line 2
        row("A-0009", "吴九", number(9), status="稳定", date="2020-12-01"),  # line 9: good
    ]
    raw = ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")
    report = import_households(staff, raw)
    db.session.commit()
    assert [line for line, _ in report.created] == [2, 9]
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4, 5, 6, 8]
    assert "identity number" in errors[3][0] and "not valid" in errors[3][0]
    assert "already registered" in errors[4][0]
    assert "line 2" in errors[5][0] and "line 2" in errors[8][0]
    assert "head of household" in errors[6][0]
    found = households()
    assert set(found) == {existing.file_no, "A-0001", "A-0009"}
    first = found["A-0001"]
    assert (first.head_name, first.province, first.county, first.status, first.consent) == (
        "王芳", "Shaanxi", "柞水县", HouseholdStatus.monitored, True)
    assert first.enrolled_at.isoformat() == "2021-03-09"
    assert found["A-0009"].status == HouseholdStatus.stable
    assert created_records() == 3  # the existing one and the two good rows: nothing of a bad row


def test_english_headers_without_bom_and_a_duplicate_identity_number_in_the_database(staff):
    existing = household(staff, 1)
    db.session.commit()
    raw = "\n".join([EN_HEADER,
                     f"B-0001,Wang Fang,{number(11)},Shaanxi,Zhashui,Yingpan,Jinmi,3,1,assisted,yes,2022-01-01",
                     f"B-0002,Li Qiang,{with_check_digit('61042619800101001')},Shaanxi,Zhashui,Yingpan,Jinmi,3,1,"
                     "stable,no,2022-01-01",
                     "B-0003,Zhao Liu,,Shaanxi,Zhashui,Yingpan,Jinmi,3,1,stable,no,2022-01-01",
                     f"B-0004,Sun Qi,{number(14)},Shaanxi,Zhashui,Yingpan,Jinmi,2,5,stable,no,2022-01-01",
                     ]).encode()
    report = import_households(staff, raw)
    db.session.commit()
    assert [line for line, _ in report.created] == [2]
    errors = dict(report.errors)
    assert "already registered" in errors[3][0]  # household(staff, 1) has that identity number
    assert "identity number" in errors[4][0] and "required" in errors[4][0]
    assert "members able to work" in errors[5][0]
    assert set(households()) == {existing.file_no, "B-0001"}


def test_a_file_that_is_not_utf8_or_has_no_header_is_refused_whole(staff):
    with pytest.raises(Invalid):
        import_households(staff, ZH_HEADER.encode("gbk") + b"\n")
    with pytest.raises(Invalid):
        import_households(staff, b"a,b,c\n1,2,3\n")


def test_the_import_page_shows_the_report(app, staff):
    client = client_for(app, staff)
    raw = "\n".join([ZH_HEADER, row("C-0001", "王芳", number(21)), row("C-0002", "李强", "123")]).encode("utf-8-sig")
    response = client.post("/staff/households/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(raw), "households.csv")})
    html = main_html(response)
    assert response.status_code == 200
    assert "1 household imported." in html and "1 row refused." in html
    assert "<td>3</td>" in html and "identity number" in html
    assert set(households()) == {"C-0001"}
    gbk = client.post("/staff/households/import", content_type="multipart/form-data",
                      data={"file": (io.BytesIO("档案号".encode("gbk")), "households.csv")})
    assert "not UTF-8" in gbk.get_data(as_text=True)
