"""Use cases of the requests service: commands on purchase requests, consumed facts, the read side."""
