"""The vendor directory's request bodies refuse what a careless client sends: a contact listed twice."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backoffice_notifications.schemas import VendorCreate, VendorUpdate


def test_a_contact_listed_twice_is_refused_naming_it() -> None:
    base = {"legal_name": "Acme", "address": "1 Road"}
    with pytest.raises(ValidationError, match=r"B@X\.test is listed twice"):
        VendorCreate.model_validate(base | {"contact_emails": ["a@x.test", "b@x.test", "B@X.test"]})
    with pytest.raises(ValidationError, match="listed twice"):
        VendorUpdate.model_validate({"contact_emails": [" a@x.test", "a@x.test"]})
    assert VendorCreate.model_validate(base | {"contact_emails": ["a@x.test", "b@x.test"]}).contact_emails == [
        "a@x.test",
        "b@x.test",
    ]
    assert VendorUpdate.model_validate({}).contact_emails is None
