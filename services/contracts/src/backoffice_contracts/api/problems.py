"""The contracts service's one error map: exception class -> problem type (laid over ``GENERIC_ERRORS``).

Classes that answer like their generic base (``ContractNotFound`` -> 404 not-found, ``NotABuyerSignatory``
-> 403 forbidden, ``TooLarge`` -> 413) need no row.
"""

from __future__ import annotations

from backoffice_common.errors import ErrorMap, ProblemType
from backoffice_contracts.domain.errors import (
    AlreadySigned,
    ApprovalNotKnown,
    EmptyUpload,
    InvalidLink,
    MalformedUpload,
    MissingUploadFile,
    NotAPdf,
    NotExecuted,
    NotOpenForSignature,
    OutOfOrder,
    SealingFailed,
    SegregationOfDuties,
    SignatureRefused,
    StaleDocument,
    TemplateError,
    TemplateNotActivatable,
    VendorBlocked,
    WrongVendor,
)

CONFLICT = "Conflict"
UNPROCESSABLE = "Unprocessable Content"


def _refused(cls: type[SignatureRefused]) -> ProblemType:
    return ProblemType(409, CONFLICT, f"signature-{cls.code.replace('_', '-')}")


PROBLEMS: ErrorMap = {
    **{
        cls: _refused(cls)
        for cls in (
            SignatureRefused,
            StaleDocument,
            NotOpenForSignature,
            AlreadySigned,
            OutOfOrder,
            WrongVendor,
            VendorBlocked,
        )
    },
    NotExecuted: ProblemType(409, CONFLICT, "not-executed"),
    SegregationOfDuties: ProblemType(403, "Forbidden", "segregation-of-duties"),
    ApprovalNotKnown: ProblemType(409, CONFLICT, "approval-not-known", headers=lambda _exc: {"Retry-After": "5"}),
    InvalidLink: ProblemType(403, "Forbidden", "invalid-link"),
    SealingFailed: ProblemType(503, "Service Unavailable", "sealing-failed"),
    TemplateError: ProblemType(422, UNPROCESSABLE, "invalid-template"),
    TemplateNotActivatable: ProblemType(409, CONFLICT, "template-not-activatable"),
    NotAPdf: ProblemType(415, "Unsupported Media Type", "not-a-pdf"),
    EmptyUpload: ProblemType(422, UNPROCESSABLE, "empty-upload"),
    MissingUploadFile: ProblemType(422, UNPROCESSABLE, "bad-upload"),
    MalformedUpload: ProblemType(400, "Bad Request", "bad-upload"),
}
