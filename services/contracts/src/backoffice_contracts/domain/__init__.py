"""The contracts domain: contract state, signing rules and document data. No I/O here."""
