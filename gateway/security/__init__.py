"""Protection of what the gateway keeps on behalf of others: credentials encrypted at rest."""
