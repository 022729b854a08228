"""The served OpenAPI document describes every /api/v1 route."""
import re


def test_every_api_route_is_documented(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops
                  if method in ("get", "post", "put", "patch", "delete")}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served, "no API routes found"
    assert served <= documented, f"undocumented: {sorted(served - documented)}"
    assert documented <= served, f"documented but not served: {sorted(documented - served)}"


def test_money_fields_are_integers_and_errors_have_the_contract_shape(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["Product"]["properties"]["price_fen"]["type"] == "integer"
    assert set(schemas["ErrorEnvelope"]["properties"]) == {"error"}
    assert "bearerAuth" in spec["components"]["securitySchemes"]
