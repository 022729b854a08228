"""Applying, staff decisions, visibility, members and invitations."""
import pytest

from marketplace.coops.models import CoopStatus, Cooperative, Membership
from marketplace.core.audit import AuditRecord
from marketplace.extensions import db
from tests.conftest import PASSWORD, jpeg_bytes, main_html, owner_of

APPLICATION = {"name": "Qinling Wood-ear Cooperative", "province": "Shaanxi", "county": "Zhashui",
               "village": "Jinmi", "registration_no": "93611026MA6YQL0001", "story": "We grow fungus."}


def test_member_applies_with_a_logo_and_becomes_owner_of_a_pending_cooperative(client, make, login):
    user = make.user()
    login(user)
    response = client.post("/cooperatives/apply", data={**APPLICATION, "logo": (__import__("io").BytesIO(jpeg_bytes()), "logo.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    coop = db.session.scalar(db.select(Cooperative))
    assert coop.status == CoopStatus.pending and coop.logo_key
    assert db.session.scalar(db.select(Membership)).role.value == "owner"
    assert db.session.scalar(db.select(AuditRecord).where(AuditRecord.action == "cooperative.apply")).actor_id == user.id


@pytest.mark.parametrize("field,value", [
    ("name", ""), ("name", "x" * 121), ("province", "Atlantis"), ("registration_no", "123"),
    ("county", "   "), ("story", "x" * 5001),
])
def test_bad_applications_change_nothing(client, make, login, field, value):
    login(make.user())
    response = client.post("/cooperatives/apply", data={**APPLICATION, field: value})
    assert response.status_code == 422
    assert db.session.scalar(db.select(db.func.count()).select_from(Cooperative)) == 0


def test_a_fake_logo_is_refused_with_a_message(client, make, login):
    login(make.user())
    response = client.post("/cooperatives/apply", data={**APPLICATION, "logo": (__import__("io").BytesIO(b"GIF89a not really"), "x.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "not a JPEG, PNG or WebP" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Cooperative)) == 0


def test_html_in_the_story_is_escaped(client, make):
    coop = make.coop(story='<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = main_html(client.get(f"/cooperatives/{coop.id}"))
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "<img src=x" not in page


def test_pending_cooperative_and_its_goods_are_not_public(client, make, api):
    coop = make.coop(status="pending")
    product = make.product(coop)
    assert client.get(f"/cooperatives/{coop.id}").status_code == 404
    assert client.get(f"/products/{product.id}").status_code == 404
    assert api("get", f"/cooperatives/{coop.id}").status_code == 404
    # ... but its own owner sees both
    assert api("get", f"/products/{product.id}", user=owner_of(coop)).status_code == 200


def test_staff_verify_reject_and_suspend(client, make, login):
    staff = make.staff()
    pending, other = make.coop(status="pending"), make.coop(status="pending")
    login(staff)
    assert client.post(f"/staff/cooperatives/{pending.id}/verify").status_code == 302
    assert client.post(f"/staff/cooperatives/{other.id}/reject", data={"reason": ""}).status_code == 302
    assert db.session.get(Cooperative, other.id).status == CoopStatus.pending  # a reason is required
    client.post(f"/staff/cooperatives/{other.id}/reject", data={"reason": "Licence number does not exist"})
    client.post(f"/staff/cooperatives/{pending.id}/suspend", data={"reason": "Complaints"})
    assert db.session.get(Cooperative, other.id).status == CoopStatus.rejected
    assert db.session.get(Cooperative, pending.id).status == CoopStatus.suspended
    actions = db.session.scalars(db.select(AuditRecord.action).where(AuditRecord.actor_id == staff.id)).all()
    assert {"cooperative.verify", "cooperative.reject", "cooperative.suspend"} <= set(actions)
    record = db.session.scalar(db.select(AuditRecord).where(AuditRecord.action == "cooperative.suspend"))
    assert (record.before["status"], record.after["status"]) == ("verified", "suspended")


def test_owners_are_told_of_the_decision(app, make):
    from marketplace.coops.services import decide

    coop = make.coop(status="pending")
    decide(make.staff(), coop, "reject", "Missing licence")
    assert "Missing licence" in app.extensions["mail_outbox"][-1].get_content()


@pytest.mark.parametrize("role", ["buyer", "owner"])
def test_non_staff_cannot_verify(client, make, login, role):
    coop = make.coop(status="pending")
    login(owner_of(coop) if role == "owner" else make.user())
    assert client.post(f"/staff/cooperatives/{coop.id}/verify").status_code == 403
    assert db.session.get(Cooperative, coop.id).status == CoopStatus.pending


def test_cooperative_page_tells_the_story_and_lists_goods(client, make):
    coop = make.coop(story="Thirty years of wood-ear on the Qinling slopes")
    make.product(coop, title="Black wood-ear")
    make.product(coop, title="Hidden draft", status="draft")
    page = main_html(client.get(f"/cooperatives/{coop.id}"))
    assert "Thirty years of wood-ear" in page and "Black wood-ear" in page and "Hidden draft" not in page


def test_owner_invites_existing_user_and_new_email(app, client, make, login):
    coop = make.coop()
    existing = make.user(email="host@example.com")
    login(owner_of(coop))
    client.post("/my/cooperative/members", data={"email": "host@example.com", "role": "host"})
    client.post("/my/cooperative/members", data={"email": "new@example.com", "role": "manager"})
    assert db.session.get(type(existing), existing.id).membership.role.value == "host"
    # the invited email joins when it signs up
    app.test_client().post("/signup", data={"display_name": "New", "email": "new@example.com", "password": PASSWORD})
    member = db.session.scalar(db.select(Membership).where(Membership.role == "manager"))
    assert member.cooperative_id == coop.id and member.user.email == "new@example.com"


def test_only_the_owner_may_invite(client, make, login):
    from marketplace.coops.services import invite_member

    coop = make.coop()
    invite_member(owner_of(coop), coop, "host@example.com", "host")
    host = make.user(email="host@example.com")
    db.session.commit()
    login(host)
    client.post("/my/cooperative/members", data={"email": "friend@example.com", "role": "manager"})
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 2


def test_member_of_one_cooperative_cannot_apply_for_another(client, make, login):
    coop = make.coop()
    login(owner_of(coop))
    assert client.get("/cooperatives/apply").status_code == 302
