"""An exact response cache: answers keyed by the account's data version (0008_data_versions).

`ResponseCache` decides hit, miss or bypass for one request; the request pipeline
(service/pipeline) calls it for `/graphql` and the CSV export. See docs/caching.md for
why every served answer equals a fresh one.
"""

from service.response_cache.cache import ResponseCache, Ticket

__all__ = ["ResponseCache", "Ticket"]
