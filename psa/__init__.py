"""PSA (professional services automation) integrations: pushing work into the MSP's PSA."""

from psa.connectwise import ConnectWiseProvider, discover_codebase
from psa.credentials import (
    ConnectWiseCredentials,
    decrypt_secret,
    encrypt_secret,
    new_secret_key,
    secret_key_from_env,
)
from psa.errors import (
    PsaAuthError,
    PsaConfigurationError,
    PsaError,
    PsaFieldError,
    PsaForbiddenError,
    PsaNotFoundError,
    PsaOutcomeUnknownError,
    PsaRateLimitedError,
    PsaTimeoutError,
    PsaUnavailableError,
    PsaValidationError,
)
from psa.provider import ActivityType, PsaProvider, PushResult

__all__ = [
    "ActivityType",
    "ConnectWiseCredentials",
    "ConnectWiseProvider",
    "PsaAuthError",
    "PsaConfigurationError",
    "PsaError",
    "PsaFieldError",
    "PsaForbiddenError",
    "PsaNotFoundError",
    "PsaOutcomeUnknownError",
    "PsaProvider",
    "PsaRateLimitedError",
    "PsaTimeoutError",
    "PsaUnavailableError",
    "PsaValidationError",
    "PushResult",
    "decrypt_secret",
    "discover_codebase",
    "encrypt_secret",
    "new_secret_key",
    "secret_key_from_env",
]
