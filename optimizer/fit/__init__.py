"""Fitting response curves from histories: per channel (long) and jointly (wide, geo)."""
