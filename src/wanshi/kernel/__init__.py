"""Shared kernel: identifiers, errors, clock, actors and events. No framework imports."""
