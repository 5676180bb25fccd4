"""Who is calling: bearer tokens checked against the deployment's trusted issuers."""
