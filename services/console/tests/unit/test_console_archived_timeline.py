"""The request page's timeline read: an archived timeline is marked, one the object store cannot give leaves
the page readable with the reason, any other problem still fails the page."""

from __future__ import annotations

import json

import httpx
import pytest

from backoffice_console import i18n
from backoffice_console.backend import ApiError, Backend
from backoffice_console.requester import _timeline
from backoffice_console.settings import Settings

ENTRY = {"type": "purchase_request.closed", "occurred_at": "2025-01-10T12:00:00Z", "note": "Closed"}


def backend_answering(status: int, body: object, headers: dict[str, str] | None = None) -> Backend:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/requests/r-1/timeline"
        media = "application/problem+json" if status >= 400 else "application/json"
        return httpx.Response(status, content=json.dumps(body), headers={"Content-Type": media, **(headers or {})})

    return Backend(Settings(), httpx.AsyncClient(transport=httpx.MockTransport(answer)))


async def test_a_timeline_read_back_from_the_archive_is_marked_as_such() -> None:
    live = await _timeline(backend_answering(200, [ENTRY], {"Timeline-Source": "live"}), "token", "r-1", "en")
    archived = await _timeline(backend_answering(200, [ENTRY], {"Timeline-Source": "archive"}), "token", "r-1", "en")

    assert live == ([ENTRY], False, None)
    assert archived == ([ENTRY], True, None)


@pytest.mark.parametrize("status", [410, 502, 503])
async def test_an_archived_timeline_the_store_cannot_give_leaves_the_page_with_the_reason(status: int) -> None:
    problem = {"status": status, "title": "Gone", "detail": "the object store no longer has it"}

    entries, archived, reason = await _timeline(backend_answering(status, problem), "token", "r-1", "en")

    assert (entries, archived, reason) == ([], False, "the object store no longer has it")


async def test_any_other_problem_still_fails_the_page() -> None:
    with pytest.raises(ApiError):
        await _timeline(backend_answering(404, {"status": 404, "title": "Not Found", "detail": "no"}), "t", "r-1", "en")


def test_the_archive_notices_are_in_german_too() -> None:
    for text in ("Read from the archive (finished long ago)", "The archived timeline cannot be shown now."):
        assert i18n.translate("de", text) != text
