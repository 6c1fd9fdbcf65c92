"""The refusals of the contracts domain: plain exceptions, mapped to problems in ``api/problems.py``."""

from __future__ import annotations

from backoffice_common.errors import AppError, Conflict, Forbidden, Invalid, NotFound, Unavailable


class SignatureRefused(Conflict):
    """A signature that must not be recorded; ``code`` is stable (stored with a refusal), the message is for people."""

    code = "refused"

    def __init__(self, message: str, *, current_document_sha256: str | None = None) -> None:
        super().__init__(message, current_document_sha256=current_document_sha256)
        self.message = message


class StaleDocument(SignatureRefused):
    code = "document_hash_mismatch"


class NotOpenForSignature(SignatureRefused):
    code = "not_open"


class AlreadySigned(SignatureRefused):
    code = "already_signed"


class OutOfOrder(SignatureRefused):
    code = "out_of_order"


class WrongVendor(SignatureRefused):
    code = "wrong_vendor"


class VendorBlocked(SignatureRefused):
    code = "vendor_blocked"


class ContractNotFound(NotFound):
    """No such contract, or one the caller may not see (the same answer, so ids cannot be probed)."""

    def __init__(self, contract_id: str) -> None:
        super().__init__(f"no contract {contract_id} that you may see")


class NotABuyerSignatory(Forbidden):
    """The caller may read the contract but not sign it for the buyer."""


class SegregationOfDuties(Forbidden):
    """The caller may sign for the buyer in general but not this order (requester, approver, vendor credentials)."""


class ApprovalNotKnown(Conflict):
    """The order's approval has not been read yet, so who approved it cannot be checked."""


class NotExecuted(Conflict):
    """The executed document was asked for, but the contract is not executed."""


class InvalidLink(Forbidden):
    """A download link token that is malformed, forged, for another document, or expired."""


class TemplateNotFound(NotFound):
    pass


class TemplateNotActivatable(Conflict):
    """A template version that is active already, or older than the active one (``active_version``)."""


class TemplateError(Invalid):
    """A template that does not compile, or that reaches outside its data."""


class InvalidOrderData(ValueError):
    """The order cannot be turned into a contract (e.g. an amount is not a decimal)."""


class SealingFailed(Unavailable):
    """The executed PDF could not be built or signed (certificate, key, renderer); nothing was recorded."""


class NotAPdf(AppError):
    """The bytes handed in are not a PDF this service can read."""


class EmptyUpload(Invalid):
    """The uploaded file has no content."""


class MalformedUpload(AppError):
    """The upload's framing (multipart) cannot be parsed."""


class MissingUploadFile(Invalid):
    """A multipart upload without the ``file`` field."""
