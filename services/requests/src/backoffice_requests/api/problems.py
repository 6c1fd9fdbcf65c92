"""The requests service's one error map: each refusal of its domain and use cases as an RFC 9457 problem.

``NotFound`` (404 ``not-found``) and ``Forbidden`` (403 ``forbidden``) are answered by the generic map.
"""

from __future__ import annotations

from backoffice_common.errors import ErrorMap, ProblemType
from backoffice_common.objectstore import OBJECT_STORE_ERRORS
from backoffice_requests.api.idempotency import IdempotencyKeyReused
from backoffice_requests.domain.errors import IllegalTransition, InvalidRequest, SegregationOfDuties
from backoffice_requests.service.errors import BadCursor, NotAVersion, StaleVersion, TimelineArchived, VersionRequired

ERRORS: ErrorMap = {
    # an archived timeline: 503 document-store-unavailable (Retry-After), 502 document-integrity
    **OBJECT_STORE_ERRORS,
    # with current_state and allowed_actions (the user commands allowed in it)
    IllegalTransition: ProblemType(409, "Action not allowed in this state", "illegal-transition"),
    # with field (null when the refusal is about no single field)
    InvalidRequest: ProblemType(422, "Invalid request", "invalid-request"),
    # with rule (requester, buyer_signer)
    SegregationOfDuties: ProblemType(403, "Forbidden", "segregation-of-duties"),
    VersionRequired: ProblemType(428, "Precondition Required", "if-match"),
    # with current_etag
    StaleVersion: ProblemType(412, "Precondition Failed", "stale-etag"),
    NotAVersion: ProblemType(412, "Precondition Failed"),
    BadCursor: ProblemType(400, "Bad Request", "bad-cursor"),
    IdempotencyKeyReused: ProblemType(422, "Idempotency-Key reused", "idempotency-key-reused"),
    # with object_key and sha256 of the segment the object store lost
    TimelineArchived: ProblemType(410, "Gone", "timeline-archived"),
}
