"""HTTP plumbing under every route: request ids, CORS, the body cap, the service's own files."""
