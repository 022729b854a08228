"""Enum values that templates show with ``_(value)``.

Templates translate status and role values at run time, e.g.
``_(coop.status.value)``; message extraction cannot see those, so the values are
listed here for ``pybabel extract`` to pick up. Nothing imports this module.
Keep it in step with CoopStatus, ProductStatus, MemberRole and Role.
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
)
