"""Step 4's content: the warehouse tabs built from tidy tables, statuses, runs and the alert log (pure)."""
