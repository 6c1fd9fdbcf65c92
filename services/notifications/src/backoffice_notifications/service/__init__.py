"""Use cases of the notifications service: the only place that commits a unit of work started by a request.

Use cases called from consumers leave the commit to the shared consumer (it commits with the inbox row).
"""
