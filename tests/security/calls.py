"""How the access matrix calls a route: the URL with A's / X's / the buyer's objects
in it, and a request body that would succeed for a role allowed to make it (so a
refusal is the permission check speaking, not a form error)."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.routing import AnyConverter

from tests.conftest import PASSWORD
from tests.security.world import ADDRESS, COUNTY_X

#: URL argument -> the World.ids (or World.names) entry whose value goes in
URL_ARGS = {
    "product_id": "product_id", "image_id": "image_id", "coop_id": "coop_id", "order_id": "order_id",
    "checkout_id": "checkout_id", "show_id": "show_id", "message_id": "message_id",
    "household_id": "household_id", "link_id": "link_id", "case_id": "case_id", "measure_id": "measure_id",
}
#: URL arguments that are not database ids
FIXED_ARGS = {"filename": "css/app.css", "queue": "default", "job_id": "0f6c3a4e-1b2d-4c5e-8f90-123456789abc",
              "token": "not-a-reset-token"}
#: for any(...) arguments: the choice the matrix calls (else the first in sorted order)
ANY_CHOICES = {("orders.buyer_action", "action"): "cancel", ("live_host.run", "action"): "end",
               ("staff.decide", "decision"): "suspend", ("desk.refund", "by"): "amount"}

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass
class Call:
    method: str
    path: str
    query: dict = field(default_factory=dict)
    data: dict | None = None  #: an HTML form
    json: dict | None = None  #: an API body
    files: dict = field(default_factory=dict)  #: form field -> (bytes, file name), sent multipart

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def url_values(rule, world) -> dict:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters[arg]
        if isinstance(converter, AnyConverter):
            values[arg] = ANY_CHOICES.get((rule.endpoint, arg), sorted(converter.items)[0])
        elif arg in URL_ARGS:
            values[arg] = world.ids[URL_ARGS[arg]]
        elif arg == "name":
            values[arg] = world.names["media"]
        else:
            values[arg] = FIXED_ARGS[arg]  # a KeyError here: a new kind of URL argument, name it above
    return values


def build_call(app, rule, method, world) -> Call:
    path = app.url_map.bind("localhost").build(rule.endpoint, url_values(rule, world), method=method)
    call = Call(method, path, query={k: fill(v, world) for k, v in QUERIES.get(rule.endpoint, {}).items()})
    body = BODIES.get((rule.endpoint, method))
    upload = UPLOADS.get((rule.endpoint, method))
    if upload is not None:
        call.data, call.files = (body(world) if body else {}), upload()
    elif body is not None:
        made = body(world)
        if call.api:
            call.json = made
        else:
            call.data = made
    elif method != "GET" and call.api:
        call.json = {}
    return call


def _local(minutes) -> str:
    return (datetime.now(LOCAL) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


def _iso(minutes) -> str:
    return (datetime.now(LOCAL) + timedelta(minutes=minutes)).isoformat(timespec="seconds")


def _household_form(n):
    return {"file_no": f"61042677{n:03d}", "head_name": "New Head", "id_number": "", "province": "Shaanxi",
            "county": COUNTY_X, "township": "T", "village": "V", "members": "3", "working_members": "1",
            "status": "stable", "consent": "y", "enrolled_at": "2021-01-01"}


def _product_form(_w):
    return {"title": "Matrix mushrooms", "category": "fungi", "unit": "1 kg", "price": "12.50", "stock": "5",
            "status": "active", "description": "", "origin": "Shaanxi"}


def _new_household_json(_w):
    from marketplace.households.identity import with_check_digit

    return {"file_no": "6104267799", "head_name": "Api Head", "id_number": with_check_digit("61042619660606066"),
            "province": "Shaanxi", "county": COUNTY_X, "township": "T", "village": "V", "members": 2,
            "working_members": 1, "status": "stable", "consent": True, "enrolled_at": "2021-01-01"}


#: query strings a GET needs to show something rather than an empty form
QUERIES = {
    "audit_ws.export": {"cooperative_id": "{coop_id}"}, "audit_ws.reconcile": {"cooperative_id": "{coop_id}"},
    "audit_ws.sample": {"cooperative_id": "{coop_id}", "seed": "7"},
    "monitoring_api.reconcile": {"cooperative_id": "{coop_id}"},
    "monitoring.find_household": {"file_no": "{file_no}"},
    "livestreams_api.events": {"max_seconds": "0"},  # (the test app ends the stream at once)
}

#: (endpoint, method) -> world -> body. HTML: form fields; API: JSON.
BODIES = {
    # accounts
    ("auth.login", "POST"): lambda w: {"email": w.names["emails"]["buyer"], "password": PASSWORD},
    ("auth.signup", "POST"): lambda w: {"display_name": "New Person", "email": "new-person@trust.example",
                                        "password": PASSWORD},
    ("auth.account", "POST"): lambda w: {"current_password": PASSWORD, "password": "a-brand-new-passphrase"},
    ("auth.forgot_password", "POST"): lambda w: {"email": w.names["emails"]["buyer"]},
    ("auth.reset_password", "POST"): lambda w: {"password": "a-brand-new-passphrase"},
    ("auth.set_language", "POST"): lambda w: {"lang": "zh_CN", "next": "/"},
    ("auth_api.create_token", "POST"): lambda w: {"email": w.names["emails"]["buyer"], "password": PASSWORD},
    ("auth_api.signup", "POST"): lambda w: {"email": "api-person@trust.example", "password": PASSWORD,
                                            "display_name": "Api Person"},
    # cooperatives
    ("coops.apply", "POST"): lambda w: {"name": "Matrix Cooperative", "province": "Shaanxi", "county": "Ningshan",
                                        "village": "V", "registration_no": "MATRIX001", "story": ""},
    ("coops.edit", "POST"): lambda w: {"name": "Renamed Cooperative", "province": "Shaanxi", "county": COUNTY_X,
                                       "village": "Village 1", "registration_no": "TRUST00001", "story": ""},
    ("coops.invite", "POST"): lambda w: {"email": "helper@trust.example", "role": "host"},
    ("staff.decide", "POST"): lambda w: {"reason": "paperwork missing"},
    ("coops_api.apply", "POST"): lambda w: {"name": "Api Cooperative", "province": "Shaanxi", "county": "Ningshan",
                                            "village": "V", "registration_no": "APICOOP01", "story": ""},
    ("coops_api.reject", "POST"): lambda w: {"reason": "paperwork missing"},
    ("coops_api.suspend", "POST"): lambda w: {"reason": "paperwork missing"},
    ("coops_api.add_member", "POST"): lambda w: {"email": w.names["emails"]["other_buyer"], "role": "host"},
    # catalog
    ("manage.new", "POST"): _product_form,
    ("manage.edit", "POST"): _product_form,
    ("catalog_api.create_product", "POST"): lambda w: {
        "title": "Api mushrooms", "category": "fungi", "unit": "1 kg", "price_fen": 1250, "stock": 5,
        "status": "active"},
    ("catalog_api.patch_product", "PATCH"): lambda w: {"price_fen": 2190},
    # buying
    ("orders.add_to_cart", "POST"): lambda w: {"product_id": w.ids["product_id"], "quantity": "1"},
    ("orders.update_cart", "POST"): lambda w: {"quantity": "3"},
    ("orders.checkout", "POST"): lambda w: {"saved_address": "new", **ADDRESS},
    ("desk.ship", "POST"): lambda w: {"carrier": "SF Express", "tracking_no": "SF1234567890"},
    ("desk.refund", "POST"): lambda w: {"amount": "1.00", "reason": "a dented box"},
    ("checkouts_api.create_checkout", "POST"): lambda w: {
        "items": [{"product_id": w.ids["product_id"], "quantity": 1}], "shipping_address": ADDRESS},
    ("checkouts_api.ship_order", "POST"): lambda w: {"carrier": "SF Express", "tracking_no": "SF1234567890"},
    ("checkouts_api.refund_order", "POST"): lambda w: {"amount_fen": 100, "reason": "a dented box"},
    # live shows
    ("livestream.buy", "POST"): lambda w: {"product_id": w.ids["product_id"], "quantity": "1"},
    ("livestream.post_chat", "POST"): lambda w: {"body": "Hello from the matrix"},
    ("live_host.new", "POST"): lambda w: {"title": "Matrix show", "description": "", "starts_at": _local(600),
                                          "ends_at": _local(660), "stream_url": "https://example.com/m.m3u8"},
    ("live_host.edit", "POST"): lambda w: {"starts_at": _local(30), "ends_at": _local(240)},
    ("live_host.pin", "POST"): lambda w: {"product_id": str(w.ids["product_id"])},
    ("live_host.quota", "POST"): lambda w: {"product_id": str(w.ids["product_id"]), "quota": "8"},
    ("live_host.replay", "POST"): lambda w: {"replay_url": "https://example.com/replay.m3u8"},
    ("livestreams_api.schedule", "POST"): lambda w: {
        "title": "Api show", "starts_at": _iso(700), "ends_at": _iso(760), "stream_url": "https://example.com/a.m3u8"},
    ("livestreams_api.pin", "POST"): lambda w: {"product_id": w.ids["product_id"]},
    ("livestreams_api.post_chat", "POST"): lambda w: {"body": "Hello from the matrix"},
    # households
    ("households.new", "POST"): lambda w: _household_form(1) | {"id_number": _id_number(1)},
    ("households.edit", "POST"): lambda w: _household_form(1) | {"file_no": w.names["file_no"],
                                                                 "head_name": "Xu Mingyuan (edited)"},
    ("households.decide", "POST"): lambda w: {"note": "checked the contract"},
    ("coop_households.propose", "POST"): lambda w: {
        "file_no": w.names["file_no_2"], "kind": "wage", "product_id": "", "rule": "share", "share_percent": "2",
        "valid_from": "2026-01-01"},
    ("coop_households.payout", "POST"): lambda w: {"amount": "0.50", "method": "cash", "reference": "matrix",
                                                   "paid_on": date.today().isoformat()},
    ("households_api.create_household", "POST"): _new_household_json,
    ("households_api.patch_household", "PATCH"): lambda w: {"village": "Renamed village"},
    ("households_api.propose_link", "POST"): lambda w: {
        "household_id": w.ids["household_id"], "kind": "wage", "share_bp": 100, "valid_from": "2026-01-01"},
    ("households_api.approve_link", "POST"): lambda w: {"note": "checked"},
    ("households_api.reject_link", "POST"): lambda w: {"note": "no contract"},
    ("households_api.record_payout", "POST"): lambda w: {
        "household_id": w.ids["household_id"], "amount_fen": 50, "method": "cash", "reference": "matrix"},
    # monitoring
    ("monitoring.transition", "POST"): lambda w: {"to": "village_review", "comment": "visited the family"},
    ("monitoring.add_measure", "POST"): lambda w: {"kind": "health", "helper": "Dr Wu",
                                                   "started_on": date.today().isoformat()},
    ("monitoring.measure_outcome", "POST"): lambda w: {"outcome": "found work in town"},
    ("monitoring.household_records", "POST"): lambda w: {
        "category": "wages", "month": date.today().strftime("%Y-%m"), "amount_yuan": "800"},
    ("monitoring.lines", "POST"): lambda w: {"year": str(date.today().year + 1), "yuan_per_person": "7500"},
    ("monitoring_api.set_line", "POST"): lambda w: {"year": date.today().year + 1, "yuan_per_person": 7500},
    ("monitoring_api.transition", "POST"): lambda w: {"to": "village_review", "comment": "visited the family"},
    ("monitoring_api.add_measure", "POST"): lambda w: {"kind": "health", "helper": "Dr Wu",
                                                       "started_on": date.today().isoformat()},
}


def _photo():
    from tests.conftest import jpeg_bytes

    return {"file": (jpeg_bytes(), "photo.jpg")}


def _products_csv():
    return {"file": (b"title,category,unit,price_yuan,stock\nCsv mushrooms,fungi,1 kg,9.90,4\n", "products.csv")}


def _households_csv():
    header = "file_no,head_name,id_number,province,county,township,village,members,working_members,status," \
             "consent,enrolled_at\n"
    row = f"6104267123,Csv Head,{_id_number(9)},Shaanxi,{COUNTY_X},T,V,3,1,stable,yes,2020-01-01\n"
    return {"file": ((header + row).encode(), "households.csv")}


#: (endpoint, method) -> the files a request uploads (multipart, with the BODIES fields if any)
UPLOADS = {
    ("catalog_api.add_image", "POST"): _photo,
    ("manage.import_csv", "POST"): _products_csv,
    ("households.import_csv", "POST"): _households_csv,
}


def _id_number(n):
    from marketplace.households.identity import with_check_digit

    return with_check_digit(f"61042619550505{n:03d}")


def fill(value, world):
    """A query value with {name} placeholders for World ids and names."""
    return value.format(**world.ids, **{k: v for k, v in world.names.items() if isinstance(v, str)})
