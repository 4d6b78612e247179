"""Infrastructure shared by every context: database, unit of work, outbox and jobs, files, audit."""
