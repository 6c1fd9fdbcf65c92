from backoffice_common.migrations import run_env
from backoffice_contracts.models import Base

run_env(Base.metadata)
