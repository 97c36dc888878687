"""Write paths with more to them than one SQL statement: the PSA pushes and their outbox.

Beside `resolvers` (the read side) and below `schema`, whose mutations call them.
"""
