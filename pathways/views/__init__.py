"""Split by area; import from the area module, e.g. pathways.views.exceptions."""
