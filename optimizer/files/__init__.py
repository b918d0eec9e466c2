"""File boundary helpers: atomic output files, TOML reading and small value checks."""
