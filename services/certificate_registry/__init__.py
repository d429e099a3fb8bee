"""certificate-registry: proofs of origin, their holders and agreements, export-declaration links, reference data."""
