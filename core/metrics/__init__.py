"""Metric arithmetic on plain rows: windows, rates, scores, ranking; no SQL, no GraphQL.

The SQL in `persistence.analytics` and the GraphQL types in `schema` both compute with
these, so a number means the same wherever it is shown.
"""
