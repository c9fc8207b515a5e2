"""Every table of the service in one metadata: what Alembic's autogenerate and the schema tests compare against.

It lives at the top of the tree because it must see every package's tables; running the migrations needs none
of them (hotline/migrate.py).
"""

import hotline.jobs  # noqa: F401  registers the jobs table
import recordings.qa_tables
import recordings.tables  # noqa: F401  registers calls, recordings, transcripts
import routing.tables  # noqa: F401  registers tickets
import staff.tables  # noqa: F401  registers staff accounts and the audit log
from hotline.db import Base

target_metadata = Base.metadata
