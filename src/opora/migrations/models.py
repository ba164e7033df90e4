"""Every model module, imported so ``Base.metadata`` knows every table."""

from opora.auth import models as auth_models  # noqa: F401
from opora.contacts import models as contacts_models  # noqa: F401
from opora.db import Base
from opora.fields import models as fields_models  # noqa: F401
from opora.jobs import models as jobs_models  # noqa: F401
from opora.search import models as search_models  # noqa: F401
from opora.tickets import models as tickets_models  # noqa: F401

metadata = Base.metadata
