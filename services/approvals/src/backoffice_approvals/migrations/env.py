from backoffice_common.migrations import run_env
from backoffice_approvals.models import Base

run_env(Base.metadata)
