"""The back-office web console (a backend-for-frontend over the four services' REST APIs)."""
