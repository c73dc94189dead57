"""Request and response schemas. Requests forbid unknown fields and bound every size; responses
are allow-lists: a field not declared here never reaches a client."""
