"""The audit log as a context: search and verify it (the audit administrator's duty), purge on retention."""
