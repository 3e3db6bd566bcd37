"""translkit.training."""
