"""Jobs: code that owns its transactions."""
