"""Client of the platform's public APIs, as a front-end app, an admin and a vendor's system use them."""
