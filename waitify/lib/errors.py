"""The one shape of a domain error, shared by every app.

Each app raises its own subclass with a code (4001…, or an HTTP-style code for
validation and permissions) and a translated message; HTML views show the
message, the API returns `{"code", "error", "message"}` with `status`.
"""

from __future__ import annotations


class WaitifyError(Exception):
    status: int = 400

    def __init__(self, message: str, *, code: int, error: str, status: int | None = None,
                 extra: dict | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.error = error
        if status is not None:
            self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "error": self.error, "message": str(self.message), **self.extra}
