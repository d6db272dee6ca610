"""strata test package."""
