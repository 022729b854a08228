"""A Stripe API stand-in for what localstripe cannot do: run the test's own code at
the moment the app is waiting for Stripe to create a PaymentIntent (look at the
database from another connection, deliver a webhook first), or fail that call."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class StripeStub:
    """POST /v1/payment_intents answers with a new intent after calling
    `during_create(form)` (form: the request's fields, e.g. form["metadata[checkout_id]"]);
    with `fail_with` set it answers that HTTP status and a Stripe error instead.
    `created` lists the intents it made."""

    def __init__(self):
        self.during_create = None
        self.fail_with = None
        self.created = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"] or 0))
                                                     .decode()).items()}
                if self.path != "/v1/payment_intents":
                    return self._answer(404, {"error": {"type": "invalid_request_error", "message": "no route"}})
                if stub.fail_with:
                    return self._answer(stub.fail_with, {"error": {"type": "invalid_request_error",
                                                                   "message": "the stub refuses"}})
                if stub.during_create:
                    stub.during_create(form)
                intent_id = f"pi_stub_{len(stub.created) + 1}"
                intent = {"id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
                          "currency": form["currency"], "client_secret": f"{intent_id}_secret_stub",
                          "status": "requires_payment_method",
                          "metadata": {"checkout_id": form.get("metadata[checkout_id]")}}
                stub.created.append(intent)
                self._answer(200, intent)

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
