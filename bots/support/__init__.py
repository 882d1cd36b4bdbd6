"""The support bot: a knowledge base of help articles, intents, grounded answers and handoff to humans."""
