from backoffice_budgets.models import Base
from backoffice_common.migrations import run_env

run_env(Base.metadata)
