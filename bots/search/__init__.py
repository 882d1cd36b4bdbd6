"""Product search: hybrid lexical + semantic ranking, suggestions, facets and search analytics."""
