"""The shell: the Starlette app, its GraphQL and CSV views, the response cache and the CLI."""
