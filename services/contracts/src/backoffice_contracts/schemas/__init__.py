"""Pydantic models at the service's edges: ``api`` (REST bodies), ``events`` (payloads of consumed events)."""
