"""HTTP entrypoints: thin routes that validate, call an application service and commit."""
