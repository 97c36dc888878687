"""The GraphQL schema of the analytics API (types here, data access in resolvers/)."""
