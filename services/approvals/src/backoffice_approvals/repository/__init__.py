"""All SQL of the approvals service: aggregates loaded and saved, read queries. Nothing here commits.

One module per area; the unit of work (``service/uow.py``) builds the repositories from its session.
"""
