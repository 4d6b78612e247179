"""Divisions (GB/T 2260) and organisations: the platform's tenants (IN-1)."""
