"""Every table of the product: importing this registers all models on `Base.metadata` (Alembic reads it)."""

from bots import draining as _drains  # noqa: F401
from bots.search import models as _search  # noqa: F401
from bots.support import models as _support  # noqa: F401
from commerce.cart import models as _cart  # noqa: F401
from commerce.catalog import models as _catalog  # noqa: F401
from commerce.checkout import models as _checkout  # noqa: F401
from commerce.inventory import models as _inventory  # noqa: F401
from commerce.orders import models as _orders  # noqa: F401
from commerce.payments import models as _payments  # noqa: F401
from commerce.returns import models as _returns  # noqa: F401
from commerce.reviews import models as _reviews  # noqa: F401
from engage.alerts import models as _alerts  # noqa: F401
from engage.analytics import models as _analytics  # noqa: F401
from engage.announcements import models as _announcements  # noqa: F401
from engage.audit import models as _audit  # noqa: F401
from engage.auth import models as _auth  # noqa: F401
from engage.chat import models as _chat  # noqa: F401
from engage.flash_sales import models as _flash_sales  # noqa: F401
from engage.leaderboards import models as _leaderboards  # noqa: F401
from engage.loyalty import models as _loyalty  # noqa: F401
from engage.platform import idempotency as _idempotency  # noqa: F401
from engage.platform.db import Base
from engage.push import models as _push  # noqa: F401

metadata = Base.metadata
