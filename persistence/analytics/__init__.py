"""Named, reusable analytics queries: an account, a window and keys in; plain rows out.

Nothing here knows about GraphQL, so the insights dashboard can call these directly.
"""
