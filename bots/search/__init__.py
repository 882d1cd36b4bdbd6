"""Product search: hybrid lexical + semantic ranking, suggestions, facets and search analytics.

For other areas: the text analysis search uses (`content_words`, `stem`, `stems`), which the support bot's
knowledge base shares so that questions and passages are read the same way.
"""

from bots.search.text import content_words, stem, stems

__all__ = ["content_words", "stem", "stems"]
