"""GraphQL over HTTP: from a request's body and token to the encoded answer, with its limits."""
