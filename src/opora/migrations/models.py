"""Every model module, imported so ``Base.metadata`` knows every table."""

from typing import Any

from opora.auth import models as auth_models  # noqa: F401
from opora.automation import models as automation_models  # noqa: F401
from opora.channels.email import models as email_models  # noqa: F401
from opora.contacts import models as contacts_models  # noqa: F401
from opora.db import Base
from opora.fields import models as fields_models  # noqa: F401
from opora.jobs import models as jobs_models  # noqa: F401
from opora.kb import models as kb_models  # noqa: F401
from opora.notifications import models as notifications_models  # noqa: F401
from opora.portal import models as portal_models  # noqa: F401
from opora.search import models as search_models  # noqa: F401
from opora.sla import models as sla_models  # noqa: F401
from opora.tickets import models as tickets_models  # noqa: F401
from opora.views import models as views_models  # noqa: F401

metadata = Base.metadata

# The search backend is built by hand in the migrations and is not in the models, so
# autogenerate would offer to drop it. These objects, and only these, are left out:
#   SQLite: the FTS5 tables ticket_fts_public / ticket_fts_all / kb_fts and their shadow
#   tables; PostgreSQL: the generated columns ticket_search.public_tsv / all_tsv and
#   kb_search.tsv, and their GIN indexes.
SEARCH_BACKEND_TABLE_PREFIXES = ("ticket_fts_", "kb_fts")
SEARCH_BACKEND_COLUMNS = frozenset(
    {("ticket_search", "public_tsv"), ("ticket_search", "all_tsv"), ("kb_search", "tsv")}
)
SEARCH_BACKEND_INDEXES = frozenset(
    {"ix_ticket_search_public_tsv", "ix_ticket_search_all_tsv", "ix_kb_search_tsv"}
)


def is_search_backend(obj: Any, name: str | None, type_: str) -> bool:
    if type_ == "table":
        return (name or "").startswith(SEARCH_BACKEND_TABLE_PREFIXES)
    if type_ == "column":
        return (obj.table.name, name) in SEARCH_BACKEND_COLUMNS
    if type_ == "index":
        return name in SEARCH_BACKEND_INDEXES
    return False


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object`` hook: compare everything but the search backend."""
    return not is_search_backend(obj, name, type_)
