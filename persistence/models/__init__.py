"""The service's tables as typed SQLAlchemy models, one module per group: the product's
tables (`product`), the PSA write paths (`write`), the rollups (`rollups`), the data
versions (`versions`) and the domain aliases (`aliases`), all on one declarative base (`base`).

Importing the package imports every group, so `Base.metadata` describes the whole schema
(Alembic's comparison and the tests read it).
"""

from persistence.models.aliases import ALIAS_TABLES
from persistence.models.base import Base, one_of
from persistence.models.product import (
    ACTIVITY_TYPES,
    CATEGORY_KEY_SQL,
    CONFIDENCE_TIERS,
    FLOW_STATUSES,
    ROLES,
    SESSION_STATUSES,
    SESSION_TYPES,
    TENANT_TABLES,
    Account,
    AiSession,
    PsaActivityLog,
    Tree,
    User,
)
from persistence.models.rollups import ROLLUP_TABLES
from persistence.models.versions import VERSION_TABLES
from persistence.models.write import WRITE_TABLES

__all__ = [
    "ACTIVITY_TYPES",
    "ALIAS_TABLES",
    "CATEGORY_KEY_SQL",
    "CONFIDENCE_TIERS",
    "FLOW_STATUSES",
    "ROLES",
    "ROLLUP_TABLES",
    "SESSION_STATUSES",
    "SESSION_TYPES",
    "TENANT_TABLES",
    "VERSION_TABLES",
    "WRITE_TABLES",
    "Account",
    "AiSession",
    "Base",
    "PsaActivityLog",
    "Tree",
    "User",
    "one_of",
]
