"""HTTP entrypoints: thin routes that validate input, call one use case and shape the answer."""
