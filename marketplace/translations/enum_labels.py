"""Enum values that templates show with ``_(value)``.

Templates translate status and role values at run time, e.g.
``_(coop.status.value)``; message extraction cannot see those, so the values are
listed here for ``pybabel extract`` to pick up. Nothing imports this module.
Keep it in step with CoopStatus, ProductStatus, MemberRole and Role, and with the
order, show, household and monitoring enums listed below. Values that several enums
share (e.g. "cancelled", "assisted", "education", "other") are one message.
"""


def N_(message):
    """Mark a string for extraction without translating it."""
    return message


ENUM_LABELS = (
    # CoopStatus (marketplace/coops/models.py)
    N_("pending"), N_("verified"), N_("rejected"), N_("suspended"),
    # ProductStatus (marketplace/catalog/models.py)
    N_("draft"), N_("active"), N_("archived"),
    # MemberRole (marketplace/coops/models.py)
    N_("owner"), N_("manager"), N_("host"),
    # Role (marketplace/auth/models.py)
    N_("buyer"), N_("staff"), N_("admin"),
    # OrderStatus and CheckoutStatus (marketplace/orders/models.py)
    N_("pending_payment"), N_("paid"), N_("shipped"), N_("delivered"), N_("cancelled"),
    N_("refunded"), N_("partially_refunded"),
    # ShowStatus (marketplace/livestream/models.py)
    N_("scheduled"), N_("live"), N_("ended"),
    # HouseholdStatus (marketplace/households/models.py)
    N_("stable"), N_("monitored"), N_("assisted"), N_("exited"),
    # LinkKind, LinkStatus, EntryKind, PayoutMethod (marketplace/households/models.py)
    N_("supplier"), N_("wage"), N_("dividend"), N_("land_lease"),
    N_("proposed"), N_("approved"), N_("superseded"),
    N_("accrual"), N_("reversal"), N_("payout"),
    N_("cash"), N_("bank_transfer"), N_("mobile_payment"),
    # CaseStatus (marketplace/monitoring/models.py)
    N_("identified"), N_("village_review"), N_("township_check"), N_("county_decision"),
    N_("closed"), N_("dismissed"),
    # MeasureKind (marketplace/monitoring/models.py)
    N_("industry"), N_("employment"), N_("health"), N_("education"), N_("housing"),
    N_("social_security"), N_("livestream_sales"), N_("other"),
    # StaffLevel (marketplace/monitoring/models.py)
    N_("village"), N_("township"), N_("county"),
    # RecordKind and RecordCategory (marketplace/monitoring/models.py)
    N_("income"), N_("spending"), N_("wages"), N_("subsidy"), N_("farming"), N_("other_income"),
    N_("medical"), N_("disaster_loss"), N_("other_spending"),
    # RiskKind (marketplace/monitoring/models.py)
    N_("serious_illness"), N_("disaster"), N_("lost_job"),
)
