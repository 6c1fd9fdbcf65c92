"""The vendor directory: vendors, their webhook secrets, and the vendor.updated feed."""
