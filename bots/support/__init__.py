"""The support bot: a knowledge base of help articles, intents, grounded answers and handoff to humans."""

from bots.support.bot import SupportBot

__all__ = ["SupportBot"]
