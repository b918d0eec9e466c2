"""The media model: response curves, adstock, parameter draws, seasonality, model files."""
