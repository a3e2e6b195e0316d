"""Split by area; import from the area module, e.g. pathways.selectors.exceptions."""
