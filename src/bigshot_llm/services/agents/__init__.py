"""What the agent front doors (`/v1/messages`, `/v1/responses`) keep: stored responses."""
