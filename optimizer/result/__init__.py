"""Results: allocations, plans, frontiers and their uncertainty over parameter draws."""
