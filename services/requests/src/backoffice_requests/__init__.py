"""The requests service: purchase requests, revisions and the order lifecycle."""
