"""Domain errors: raised by services, turned into HTML messages or JSON errors by views.

Every error has a stable machine `code`, an HTTP `status` and a human message
(translated lazily, so the same error reads right in either language).
"""


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, code=None, status=None, fields=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields or {}

    def to_dict(self):
        body = {"code": self.code, "message": str(self.message)}
        if self.fields:
            body["fields"] = {k: [str(m) for m in v] for k, v in self.fields.items()}
        return {"error": body}


class Invalid(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"
