"""What vendors send us: the signed webhook and the signed-link pages."""
