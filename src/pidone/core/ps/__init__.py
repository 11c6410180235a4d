"""ps: procps-compatible process listing (pure formatting; data comes from linux.procfs)."""
