"""Pure read-model logic: folding one request's events into its figures. No I/O."""
