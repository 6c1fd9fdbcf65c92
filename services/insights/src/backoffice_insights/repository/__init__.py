"""All SQL of the insights service: the facts and views it writes (``store``), the reports it reads (``reports``)."""
