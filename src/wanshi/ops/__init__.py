"""Operations: background jobs and schedules, dead letters and retries, for the system administrator."""
