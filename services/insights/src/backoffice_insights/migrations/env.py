from backoffice_common.migrations import run_env
from backoffice_insights.models import Base

run_env(Base.metadata)
