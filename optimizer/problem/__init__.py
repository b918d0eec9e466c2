"""The problems: constraints files, objectives, allocation and plan problems."""
