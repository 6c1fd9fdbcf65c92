"""All SQL of the contracts service. Repositories never commit; the unit of work's owner does."""

from backoffice_contracts.repository.contracts import ContractRepository
from backoffice_contracts.repository.reference import (
    ApprovalRepository,
    CancellationRepository,
    TemplateRepository,
    VendorRepository,
)

__all__ = [
    "ApprovalRepository",
    "CancellationRepository",
    "ContractRepository",
    "TemplateRepository",
    "VendorRepository",
]
