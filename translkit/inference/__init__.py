"""translkit.inference."""
