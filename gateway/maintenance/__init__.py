"""Long-run upkeep of the gateway's own data: audit retention, database backup and restore.

One implementation per operation, called by the CLI (``gateway audit prune``,
``gateway db backup|restore``) and, for the prune, by the worker's hourly job.
"""
