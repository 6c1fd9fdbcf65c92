"""Refusals of the notifications domain and use cases: plain exceptions, mapped to problems in api/problems.py."""

from __future__ import annotations

from backoffice_common.errors import Conflict, Invalid, NotFound


class VendorNotFound(NotFound):
    """No vendor with this id."""


class ContractNotFound(NotFound):
    """No contract with this id awaits a signature here."""


class DeliveryNotFound(NotFound):
    """No delivery with this id."""


class DeliveryNotFailed(Conflict):
    """Only a failed delivery can be retried by hand."""


class ResponseRefused(Conflict):
    """The vendor may not answer this order or sign this contract now."""


class WebhookReplayed(Conflict):
    """This vendor already sent this webhook-id."""


class CannotBeNull(Invalid):
    """A vendor field that must keep a value was set to null."""
