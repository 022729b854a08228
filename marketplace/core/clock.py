"""The programme's calendar. Its people live in China: a "day" (a payout's date, a harvest,
a reconciliation period) is an Asia/Shanghai day wherever the server runs. date.today()
would be the server's own day, which differs from 16:00 to 24:00 UTC."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return datetime.now(LOCAL).date()
