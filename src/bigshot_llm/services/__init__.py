"""Domain services between the HTTP layer and the database/providers."""
