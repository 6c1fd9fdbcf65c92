"""The contracts service: contract templates, generated PDFs, signatures and sealing."""
