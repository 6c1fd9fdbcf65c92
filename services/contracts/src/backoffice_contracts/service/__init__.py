"""The use cases of the contracts service: keyword-only async functions, one module per business area.

Use cases called by the API or a job commit their unit of work; those called by a consumer leave the
commit to the consumer, so the inbox claim, the effects and the recorded outcome are one transaction.

- ``generation``: ``generate_contract`` (vendor.accepted), ``update_vendor`` (vendor.updated)
- ``signing``: ``sign_as_buyer`` (API), ``record_vendor_signature`` (vendor.contract_signed)
- ``parties``: ``record_approval`` (purchase_request.approved), who took part in an order (segregation of duties)
- ``execution``: sealing and executing once every party has signed (called by signing)
- ``lifecycle``: ``void_for_cancellation`` (purchase_request.cancelled), ``expire_due`` (timer)
- ``templates``: ``add_template``, ``activate_template`` (a second admin), ``preview_template``, ``list_templates``,
  ``get_template``
- ``queries``: what the API reads (visible contracts, documents, verification)
"""

from backoffice_contracts.service.generation import generate_contract, update_vendor
from backoffice_contracts.service.lifecycle import expire_due, void_for_cancellation
from backoffice_contracts.service.parties import record_approval
from backoffice_contracts.service.signing import record_vendor_signature, sign_as_buyer
from backoffice_contracts.service.templates import (
    activate_template,
    add_template,
    get_template,
    list_templates,
    preview_template,
    sample_data,
)

__all__ = [
    "activate_template",
    "add_template",
    "expire_due",
    "generate_contract",
    "get_template",
    "list_templates",
    "preview_template",
    "record_approval",
    "record_vendor_signature",
    "sample_data",
    "sign_as_buyer",
    "update_vendor",
    "void_for_cancellation",
]
