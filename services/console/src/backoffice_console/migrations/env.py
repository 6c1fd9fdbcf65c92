from backoffice_common.migrations import run_env
from backoffice_console.models import metadata

run_env(metadata)
