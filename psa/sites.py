"""Which hosts a ConnectWise connection may name, and what its codebase may look like.

The site is where the tenant's API keys are sent (`Authorization: Basic ...`), so it is a
bare host name of ConnectWise's cloud, or one the operator allows explicitly
(`PSA_CONNECTWISE_HOSTS`, for on-premise ConnectWise). No scheme, userinfo, port, path or
query: any of them would let an admin point the stored private key at another server
(`api-na.myconnectwise.net@127.0.0.1:8080` is loopback).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.addresses import HostNameError, host_name

CLOUD_REGIONS = ("na", "eu", "au", "za")
CLOUD_HOSTS = frozenset(
    f"{prefix}{region}.myconnectwise.net" for region in CLOUD_REGIONS for prefix in ("", "api-")
)
# A release folder such as `v4_6_release/` or `v2025_1/`: one path segment, nothing else.
_CODEBASE = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}/?")


class SiteError(ValueError):
    """The site or codebase cannot be used; the message is fixed and safe to show."""


def allowed_site(value: str, extra_hosts: Iterable[str] = ()) -> str:
    """The normalised site when it is a ConnectWise cloud host or an allowed extra one."""
    try:
        host = host_name(value)
    except HostNameError as error:
        raise SiteError(str(error)) from None
    if host not in CLOUD_HOSTS and host not in frozenset(extra_hosts):
        raise SiteError(
            "site must be a ConnectWise cloud host (na, eu, au or za.myconnectwise.net, "
            "or their api- forms) or a host the operator allows in PSA_CONNECTWISE_HOSTS"
        )
    return host


def allowed_codebase(value: str) -> str:
    """The codebase (may be empty), or SiteError when it is more than one path segment."""
    codebase = value.strip()
    if codebase and (not _CODEBASE.fullmatch(codebase) or ".." in codebase):
        raise SiteError("codebase must be one path segment such as v4_6_release/")
    return codebase
