from backoffice_checklists.models import Base
from backoffice_common.migrations import run_env

run_env(Base.metadata)
