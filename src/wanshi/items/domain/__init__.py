"""The service-item domain: elements, codes, the province's locks, versions and bundles. Pure Python."""
