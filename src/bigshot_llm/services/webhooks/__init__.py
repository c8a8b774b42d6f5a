"""Webhooks: the signed, retried deliveries (`dispatcher`) and their registration (`hooks`)."""
