"""Tables of this context (being written)."""
