"""arq jobs: thin doors that look up ids and call the same domain services as HTTP."""
