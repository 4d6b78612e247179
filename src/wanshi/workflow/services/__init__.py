"""Use cases of the process centre (definitions, instances and tasks, supervision)."""
