"""The API's request parsers, in a module of their own: settings name them, and
`rest_framework.views` reads that setting while it is being imported."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "Request body too large."


class BoundedBody:
    """Refuse a body over DATA_UPLOAD_MAX_MEMORY_SIZE before reading it.

    DRF reads the request stream itself, past the check Django makes in
    `request.body`: without this a JSON body of any size would be read and parsed.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        request = (parser_context or {}).get("request")
        meta = request.META if request is not None else {}
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            raise RequestTooLarge(
                _("The request body is larger than %(limit)s bytes.") % {"limit": limit})
        return super().parse(stream, media_type, parser_context)


class JSONParser(BoundedBody, parsers.JSONParser):
    """DRF's parser; a body nested deeper than Python's decoder goes is a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON parse error: nested too deeply.")) from exc


class FormParser(BoundedBody, parsers.FormParser):
    pass
