"""Self-service returns of delivered orders (docs/returns.md).

For other areas (payments refunds a received return): `close(session, id, ReturnStatus.refunded, ...)`
(409 when it is closed already), `reopen` (its refund failed), `view`.
"""

from commerce.returns.models import ReturnRequest, ReturnStatus
from commerce.returns.service import Line, ReturnView, close, reopen, view

__all__ = ["Line", "ReturnRequest", "ReturnStatus", "ReturnView", "close", "reopen", "view"]
