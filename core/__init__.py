"""The bottom layer: what every other package may use and which uses none of them.

Settings, the verified caller and its token, error codes, and the pure metric arithmetic
(`core.metrics`). Nothing here opens a connection or knows about HTTP.
"""
