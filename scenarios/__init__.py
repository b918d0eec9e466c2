"""What-if scenarios and per-period plans, built on the optimizer library."""
