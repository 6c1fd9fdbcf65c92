"""The purchase request as a pure domain object: no database, web or broker imports here."""
