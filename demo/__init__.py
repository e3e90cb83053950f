"""The demo portfolio: the six seed cases of DOMAIN.md §1, replayed day by day."""
