"""Aggregation (归集, issue #3 item 3): files, pushed batches and database pulls into the analytical store,
mapped, coerced, normalised, with lineage, a quarantine and exactly-once loads. Import ``api``."""
