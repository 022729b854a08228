"""Household register import from CSV (UTF-8 with or without BOM; English or
Chinese headers, as county offices export them).

Each row goes through `services.create_household` inside its own savepoint, so a
bad row imports nothing of itself and is reported with its line number, while
good rows are kept. A file number or identity number already registered, or
repeated within the file, is refused.
"""
import csv
import io
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..core.errors import DomainError, Invalid
from ..extensions import db
from . import identity
from .services import create_household, require_staff

#: header as written (lower-cased, trimmed) -> service field
HEADERS = {
    "file_no": "file_no", "档案号": "file_no", "建档立卡号": "file_no",
    "head_name": "head_name", "户主": "head_name", "户主姓名": "head_name",
    "id_number": "id_number", "身份证号": "id_number", "身份证号码": "id_number",
    "province": "province", "省": "province", "省份": "province",
    "county": "county", "县": "county", "县区": "county",
    "township": "township", "乡镇": "township",
    "village": "village", "村": "village",
    "members": "members", "人口": "members", "家庭人口": "members",
    "working_members": "working_members", "劳动力": "working_members",
    "status": "status", "状态": "status",
    "consent": "consent", "同意": "consent",
    "enrolled_at": "enrolled_at", "建档日期": "enrolled_at",
}
REQUIRED = {"file_no", "head_name", "id_number"}
#: how the names of fields read in the error report
LABELS = {"file_no": _l("file number"), "head_name": _l("head of household"), "id_number": _l("identity number"),
          "province": _l("province"), "county": _l("county"), "township": _l("township"),
          "village": _l("village"), "members": _l("members"), "working_members": _l("members able to work"),
          "status": _l("status"), "consent": _l("consent"), "enrolled_at": _l("enrolment date")}
STATUS_ALIASES = {"稳定": "stable", "稳定脱贫": "stable", "监测": "monitored", "监测户": "monitored",
                  "帮扶": "assisted", "帮扶户": "assisted", "退出": "exited", "已退出": "exited"}
CONSENT_ALIASES = {"同意": "1", "已同意": "1", "不同意": "0", "否": "0"}
SLASHED_DATE = re.compile(r"^(\d{4})[/.年-](\d{1,2})[/.月-](\d{1,2})日?$")
MAX_ROWS = 5000


@dataclass
class ImportReport:
    created: list = field(default_factory=list)  #: (line, household id)
    errors: list = field(default_factory=list)  #: (line, [messages])


def import_households(staff, raw: bytes) -> ImportReport:
    require_staff(staff)
    reader = _reader(raw)
    report, seen = ImportReport(), {}
    for count, row in enumerate(reader, start=1):
        line = reader.line_num  # the file's own line number, as a spreadsheet shows it
        if count > MAX_ROWS:
            report.errors.append((line, [str(_l("Only the first %(n)d rows are imported.", n=MAX_ROWS))]))
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line
        _import_row(staff, line, row, report, seen)
    return report


def _reader(raw: bytes):
    try:
        text = raw.decode("utf-8-sig")  # strips the BOM Excel writes
    except UnicodeDecodeError:
        raise Invalid(_l("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."),
                      code="invalid_csv") from None
    reader = csv.DictReader(io.StringIO(text))
    names = [HEADERS.get((h or "").strip().lower()) for h in (reader.fieldnames or [])]
    if not REQUIRED <= set(names):
        raise Invalid(_l("The first line must name the columns, including file number, head of household "
                         "and identity number."), code="invalid_csv")
    reader.fieldnames = [name or f"_ignored_{i}" for i, name in enumerate(names)]
    return reader


def _import_row(staff, line, row, report, seen):
    data = _convert({k: v for k, v in row.items() if k and not k.startswith("_ignored_") and v is not None})
    repeated = _repeated_in_file(data, seen)
    if repeated:
        report.errors.append((line, [str(_l("The same file or identity number as line %(line)d.",
                                            line=repeated))]))
        return
    try:
        with db.session.begin_nested():  # a failing row rolls back to here, and only this row
            household = create_household(staff, data)
    except DomainError as err:
        report.errors.append((line, _messages(err)))
    except IntegrityError:  # a duplicate registered by someone else meanwhile
        report.errors.append((line, [str(_l("A household with this file number or identity number is "
                                            "already registered."))]))
    else:
        report.created.append((line, household.id))
        _remember(data, seen, line)


def _keys(data):
    """What makes a household unique: its file number and its identity number."""
    return [("file", (data.get("file_no") or "").strip()), ("id", identity.normalize(data.get("id_number")))]


def _repeated_in_file(data, seen):
    """The line of an earlier good row with the same file or identity number. (The
    database refuses it too; this names the line, which helps fixing the file.)"""
    return next((seen[key] for key in _keys(data) if key[1] and key in seen), None)


def _remember(data, seen, line):
    for key in _keys(data):
        seen.setdefault(key, line)


def _messages(err: DomainError) -> list[str]:
    if not err.fields:
        return [str(err.message)]
    return [f"{LABELS.get(name, name)}: {msgs[0]}" for name, msgs in err.fields.items()]


def _convert(data: dict) -> dict:
    """Accept what Chinese spreadsheets commonly hold: 稳定/监测 statuses, 同意 as
    consent, dates written 2020/1/5 or 2020年1月5日."""
    status = (data.get("status") or "").strip()
    data["status"] = STATUS_ALIASES.get(status, status.lower())
    consent = (data.get("consent") or "").strip()
    data["consent"] = CONSENT_ALIASES.get(consent, consent)
    enrolled = (data.get("enrolled_at") or "").strip()
    match = SLASHED_DATE.match(enrolled)
    if match:
        year, month, day = (int(part) for part in match.groups())
        enrolled = f"{year:04d}-{month:02d}-{day:02d}"
    data["enrolled_at"] = enrolled
    return data
