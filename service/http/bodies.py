"""Reading a JSON request body: only as JSON, then through the one strict decoder."""

from __future__ import annotations

from typing import TypeVar

from litestar import Request
from msgspec import Struct

from service.guidance.decoding import RequestRejected, StrictDecoder
from service.http.problems import problem, rejected_request

T = TypeVar("T", bound=Struct)


def is_json_media_type(value: bytes) -> bool:
    """``application/json`` or ``application/<anything>+json``; a charset, if named, UTF-8."""
    media, _, parameters = value.partition(b";")
    media = media.strip().lower()
    if media != b"application/json" and not (media.startswith(b"application/") and media.endswith(b"+json")):
        return False
    for parameter in parameters.split(b";"):
        name, _, setting = parameter.partition(b"=")
        charset = setting.strip().strip(b'"').lower()
        if name.strip().lower() == b"charset" and charset not in (b"utf-8", b"utf8"):
            return False
    return True


def _content_type(request: Request) -> bytes | None:
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            return value
    return None


async def read_json(request: Request, decoder: StrictDecoder[T]) -> T:
    """The body as ``decoder``'s type; 415 for a body that is not declared JSON (a web page
    cannot send that cross-site without the browser asking first), 400 naming every offender."""
    content_type = _content_type(request)
    if content_type is None or not is_json_media_type(content_type):
        raise problem(
            415,
            "unsupported-media-type",
            "Unsupported Media Type",
            "Send the body as JSON, with `Content-Type: application/json`.",
        )
    raw = await request.body()
    try:
        return decoder.decode(raw)
    except RequestRejected as rejected:
        raise rejected_request(rejected) from None
