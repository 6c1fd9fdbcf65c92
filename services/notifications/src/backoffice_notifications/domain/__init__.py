"""Pure domain rules of the notifications service: no database, HTTP or Kafka imports here."""
