"""Demo data: the Putuo example world, and loading of evaluation-format datasets. Everything goes through services."""
