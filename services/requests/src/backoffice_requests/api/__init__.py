"""The HTTP API of the requests service: thin routers and the service's error map."""
