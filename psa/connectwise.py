"""ConnectWise Manage (REST API 3.0) implementation of `PsaProvider`.

Creates are at-most-once: ConnectWise has no idempotency key, so a POST that may have
reached it (read timeout, dropped connection, 5xx) is never sent again; the caller gets
`PsaOutcomeUnknownError`. Only failures before sending, 429s and the idempotent status
PATCH are retried (see `_send`). Providers share one HTTP client and one semaphore per
tenant (`psa.connectwise_clients`), so that cap is what the tenant's ConnectWise sees.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx

from psa.connectwise_errors import ErrorBody, error_for, identifier, is_transient
from psa.credentials import ConnectWiseCredentials
from psa.errors import (
    PsaConfigurationError,
    PsaFieldError,
    PsaNotFoundError,
    PsaOutcomeUnknownError,
    PsaRateLimitedError,
    PsaTimeoutError,
    PsaUnavailableError,
    PsaValidationError,
)
from psa.provider import ActivityType, PushResult
from psa.retry import RetryPolicy, Sleep, parse_retry_after
from psa.sites import SiteError, allowed_codebase, allowed_site

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-cw-request-id"
# Methods a repeat cannot harm: our only one is the status PATCH (it sets, never adds).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
# Failures that happen before any byte of the request is sent.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
BillableOption = Literal["Billable", "DoNotBill", "NoCharge", "NoDefault"]


def api_base_url(site: str, codebase: str) -> str:
    """`https://{site}/{codebase}/apis/3.0/`, tolerating a scheme and stray slashes."""
    host = site.strip()
    for prefix in ("https://", "http://"):
        if host.lower().startswith(prefix):
            host = host[len(prefix) :]
    host = host.strip("/")
    code = codebase.strip().strip("/")
    parts = [host, code, "apis/3.0"] if code else [host, "apis/3.0"]
    return "https://" + "/".join(parts) + "/"


def format_datetime(value: datetime, field: str) -> str:
    """ConnectWise's `YYYY-MM-DDTHH:MM:SSZ` in UTC; naive datetimes are refused, not guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise _local_error(field, "must be timezone-aware (ambiguous local time)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_number(ticket_id: str | int, field: str = "ticketId") -> int:
    """ConnectWise ticket ids are positive integers; ours are stored as text."""
    text = str(ticket_id).strip()
    if not text.isascii() or not text.isdigit() or int(text) <= 0:
        raise _local_error(field, f"{ticket_id!r} is not a ConnectWise ticket id")
    return int(text)


def _local_error(field: str, message: str) -> PsaValidationError:
    return PsaValidationError(
        f"{field}: {message}",
        errors=[PsaFieldError(code="InvalidField", message=message, field=field)],
    )


@dataclass(frozen=True)
class _Answer:
    response: httpx.Response
    request_id: str | None
    attempts: int


class ConnectWiseProvider:
    """Pushes time entries, notes and status changes to one tenant's ConnectWise."""

    name = "connectwise"

    def __init__(
        self,
        credentials: ConnectWiseCredentials,
        *,
        client: httpx.AsyncClient | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 20.0,
        max_retry_after: float = 60.0,
        timeout: float = 30.0,
        max_concurrency: int = 4,
        semaphore: asyncio.Semaphore | None = None,
        api_version: str | None = None,
        sleep: Sleep = asyncio.sleep,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._credentials = credentials
        base = base_url or api_base_url(credentials.site, credentials.codebase)
        self.base_url = base.rstrip("/") + "/"
        self.host = httpx.URL(self.base_url).host
        self._retry = retry_policy or RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            sleep=sleep,
        )
        self._timeout = httpx.Timeout(timeout)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)
        self._semaphore = semaphore or asyncio.Semaphore(max_concurrency)
        accept = "application/json"
        if api_version:
            accept = f"application/vnd.connectwise.com+json; version={api_version}"
        self._headers = {
            "Authorization": credentials.authorization_header(),
            "clientId": credentials.client_id,
            "Content-Type": "application/json",
            "Accept": accept,
        }

    def __repr__(self) -> str:
        return f"ConnectWiseProvider(base_url={self.base_url!r}, credentials={self._credentials!r})"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- the three pushes -------------------------------------------------------------

    async def push_time_entry(
        self,
        ticket_id: str,
        member_id: int,
        time_start: datetime,
        time_end: datetime,
        actual_hours: float,
        notes: str,
        *,
        billable_option: BillableOption | None = None,
        work_type_id: int | None = None,
    ) -> PushResult:
        """POST /time/entries charged to the ticket; the external id is the entry's id."""
        ticket = ticket_number(ticket_id, "chargeToId")
        start = format_datetime(time_start, "timeStart")
        end = format_datetime(time_end, "timeEnd")
        if time_end < time_start:
            raise _local_error("timeEnd", "must not be before timeStart")
        if not math.isfinite(actual_hours) or actual_hours < 0:
            raise _local_error("actualHours", "must be a non-negative number")
        body: dict[str, Any] = {
            "chargeToId": ticket,
            "chargeToType": "ServiceTicket",
            "member": {"id": member_id},
            "timeStart": start,
            "timeEnd": end,
            "actualHours": actual_hours,
            "notes": notes,
        }
        if billable_option is not None:
            body["billableOption"] = billable_option
        if work_type_id is not None:
            body["workType"] = {"id": work_type_id}
        answer = await self._send("POST", "time/entries", body)
        return self._created(answer, "time_entry_posted", str(ticket), hours=actual_hours)

    async def push_ticket_note(
        self,
        ticket_id: str,
        text: str,
        *,
        detail_description: bool = False,
        internal_analysis: bool = False,
        resolution: bool = False,
        member_id: int | None = None,
        process_notifications: bool = False,
    ) -> PushResult:
        """POST /service/tickets/{id}/notes; refused locally unless a display flag is set."""
        ticket = ticket_number(ticket_id)
        if not (detail_description or internal_analysis or resolution):
            raise _local_error(
                "detailDescriptionFlag",
                "choose where to show the note: detail description, internal analysis "
                "or resolution",
            )
        if not text.strip():
            raise _local_error("text", "must not be empty")
        body: dict[str, Any] = {
            "text": text,
            "detailDescriptionFlag": detail_description,
            "internalAnalysisFlag": internal_analysis,
            "resolutionFlag": resolution,
            "processNotifications": process_notifications,
        }
        if member_id is not None:
            body["member"] = {"id": member_id}
        answer = await self._send("POST", f"service/tickets/{ticket}/notes", body)
        return self._created(answer, "note_posted", str(ticket))

    async def update_ticket_status(
        self,
        ticket_id: str,
        status_id: int,
        *,
        idempotency_key: str | None = None,
    ) -> PushResult:
        """PATCH the ticket's `status/id`.

        A status change creates no record in ConnectWise, so its external id is
        `"{ticket}:status:{status}:{idempotency_key}"`: pass the same key (e.g. the
        outbox row id) when retrying and the log gets one row. Without a key it falls
        back to the ticket's `_info.lastUpdated` from the answer, which tells two real
        changes apart but is not guaranteed stable across retries.
        """
        ticket = ticket_number(ticket_id)
        patch = [{"op": "replace", "path": "status/id", "value": status_id}]
        answer = await self._send("PATCH", f"service/tickets/{ticket}", patch)
        suffix = idempotency_key
        if suffix is None:
            payload = _json_or_none(answer.response)
            info = payload.get("_info") if isinstance(payload, Mapping) else None
            last = info.get("lastUpdated") if isinstance(info, Mapping) else None
            suffix = str(last) if last else None
        external_id = f"{ticket}:status:{status_id}"
        if suffix:
            external_id = f"{external_id}:{suffix}"
        return PushResult(
            activity_type="status_updated",
            psa_ticket_id=str(ticket),
            external_id=external_id,
            request_id=answer.request_id,
            attempts=answer.attempts,
        )

    # -- transport --------------------------------------------------------------------

    def _created(
        self, answer: _Answer, activity: ActivityType, ticket: str, hours: float | None = None
    ) -> PushResult:
        payload = _json_or_none(answer.response)
        record_id = payload.get("id") if isinstance(payload, Mapping) else None
        if record_id is None:
            raise PsaUnavailableError(
                f"ConnectWise answered {answer.response.status_code} without a record id",
                status=answer.response.status_code,
                request_id=answer.request_id,
            )
        return PushResult(
            activity_type=activity,
            psa_ticket_id=ticket,
            external_id=str(record_id),
            request_id=answer.request_id,
            hours_logged=hours,
            attempts=answer.attempts,
        )

    async def _send(self, method: str, path: str, body: Any) -> _Answer:
        """One logical request, retried the way urllib3's `Retry` does.

        - The connection failed (refused, DNS, connect timeout, no pooled connection in
          time): the request never left, so every method is retried.
        - 429: ConnectWise refused it unprocessed; retried for every method, honouring
          `Retry-After`.
        - A read timeout, a dropped connection or a 5xx: the request may have been
          processed. Only an idempotent method (our status PATCH) is retried; a POST
          raises `PsaOutcomeUnknownError` at once and is never sent again from here.
        """
        url = self.base_url + path.lstrip("/")
        idempotent = method.upper() in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._semaphore:
                    response = await self._client.request(
                        method, url, json=body, headers=self._headers, timeout=self._timeout
                    )
            except NOT_SENT as exc:
                self._log_failure(method, path, attempt, "could not connect", exc)
                if self._retry.may_retry(attempt):
                    await self._retry.sleep(self._retry.backoff(attempt))
                    continue
                if isinstance(exc, httpx.TimeoutException):
                    raise PsaTimeoutError(
                        f"could not connect to ConnectWise in time ({attempt} attempts)"
                    ) from None
                raise PsaUnavailableError(
                    f"ConnectWise is unreachable ({type(exc).__name__}, {attempt} attempts)"
                ) from None
            except httpx.TransportError as exc:
                timed_out = isinstance(exc, httpx.TimeoutException)
                self._log_failure(
                    method, path, attempt, "timed out" if timed_out else "transport error", exc
                )
                if not idempotent:
                    raise PsaOutcomeUnknownError(
                        f"no answer from ConnectWise to {method} {path}: it may or may not "
                        "have created the record; check the ticket before pushing again",
                        cause=PsaTimeoutError.code if timed_out else PsaUnavailableError.code,
                    ) from None
                if self._retry.may_retry(attempt):
                    await self._retry.sleep(self._retry.backoff(attempt))
                    continue
                if timed_out:
                    raise PsaTimeoutError(
                        f"ConnectWise did not answer {method} {path} in time ({attempt} attempts)"
                    ) from None
                raise PsaUnavailableError(
                    f"ConnectWise is unreachable ({type(exc).__name__}, {attempt} attempts)"
                ) from None

            request_id = identifier(response.headers.get(REQUEST_ID_HEADER))
            status = response.status_code
            logger.info(
                "connectwise %s host=%s %s -> %d request_id=%s attempt=%d",
                method,
                self.host,
                path,
                status,
                request_id,
                attempt,
            )
            if 200 <= status < 300:
                return _Answer(response, request_id, attempt)

            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                too_long = retry_after is not None and retry_after > self._retry.max_retry_after
                if self._retry.may_retry(attempt) and not too_long:
                    delay = self._retry.backoff(attempt) if retry_after is None else retry_after
                    await self._retry.sleep(delay)
                    continue
                raise PsaRateLimitedError(
                    f"ConnectWise is rate limiting this integration ({attempt} attempts)",
                    retry_after=retry_after,
                    request_id=request_id,
                )

            error_body = ErrorBody.parse(_json_or_none(response), response.text)
            if status >= 500 and not idempotent:
                logger.warning(
                    "connectwise %s host=%s %s answered %d: outcome unknown, not re-sent "
                    "request_id=%s",
                    method,
                    self.host,
                    path,
                    status,
                    request_id,
                )
                raise PsaOutcomeUnknownError(
                    f"ConnectWise answered {status} to {method} {path}: it may or may not "
                    "have created the record; check the ticket before pushing again",
                    cause=PsaUnavailableError.code,
                    status=status,
                    request_id=request_id,
                )
            if is_transient(status, error_body) and self._retry.may_retry(attempt):
                await self._retry.sleep(self._retry.backoff(attempt))
                continue
            error = error_for(status, error_body, request_id, self._scrub)
            logger.warning(
                "connectwise %s host=%s %s failed: %s request_id=%s detail=%r",
                method,
                self.host,
                path,
                error.code,
                error.request_id,
                error.detail,
            )
            raise error

    def _log_failure(self, method: str, path: str, attempt: int, what: str, exc: Exception) -> None:
        logger.warning(
            "connectwise %s host=%s %s %s (attempt %d): %s",
            method,
            self.host,
            path,
            what,
            attempt,
            type(exc).__name__,
        )

    def _scrub(self, text: str) -> str:
        """Remove anything secret a misbehaving server might echo back."""
        auth = self._headers["Authorization"]
        for secret in (auth, auth.removeprefix("Basic "), self._credentials.private_key):
            if secret:
                text = text.replace(secret, "***")
        return text


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def discover_codebase(
    site: str,
    company_id: str,
    *,
    client: httpx.AsyncClient,
    base_url: str | None = None,
    request_timeout: float = 10.0,
    extra_hosts: Iterable[str] = (),
) -> str:
    """Ask `GET https://{site}/login/companyinfo/{companyId}` which codebase serves a tenant.

    Cache the answer per tenant; credentials may also name the codebase directly. The site
    must be an allowed ConnectWise host (`psa.sites`) unless `base_url` (tests) is given.
    """
    try:
        root = base_url or "https://" + allowed_site(site, extra_hosts)
    except SiteError as error:
        raise PsaConfigurationError(str(error)) from None
    url = f"{root.rstrip('/')}/login/companyinfo/{quote(company_id, safe='')}"
    try:
        response = await client.get(url, timeout=request_timeout)
    except httpx.TimeoutException:
        raise PsaTimeoutError(f"ConnectWise company lookup for {company_id!r} timed out") from None
    except httpx.TransportError as exc:
        raise PsaUnavailableError(
            f"ConnectWise company lookup failed ({type(exc).__name__})"
        ) from None
    payload = _json_or_none(response)
    codebase = payload.get("Codebase") if isinstance(payload, Mapping) else None
    if response.status_code >= 500:
        raise PsaUnavailableError(
            f"ConnectWise company lookup answered {response.status_code}",
            status=response.status_code,
        )
    if isinstance(codebase, str):
        try:
            codebase = allowed_codebase(codebase)
        except SiteError:
            codebase = None
    if response.status_code != 200 or not isinstance(codebase, str) or not codebase:
        raise PsaNotFoundError(
            f"ConnectWise does not know company {company_id!r} at {site}",
            status=response.status_code,
        )
    return codebase


__all__ = [
    "ConnectWiseProvider",
    "api_base_url",
    "discover_codebase",
    "format_datetime",
    "ticket_number",
]
