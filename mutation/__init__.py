"""Mutation testing of the guarantee core: `python -m mutation` (see __main__)."""
