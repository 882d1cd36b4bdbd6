"""Back-in-stock alerts (docs/alerts.md): shoppers sign up for a sold-out variant; any increase of its
sellable stock sends them in waves sized to the units, by push or email, exactly once per signup.

For the assembly: `hand_over` (a guest's alerts follow them at sign-in) and the `personal_data` section.
For the support bot: `sign_up(session, identity, variant_id, email="")` (Conflict `in_stock` when it can be
bought now).
"""

from engage.alerts.privacy import personal_data
from engage.alerts.service import hand_over, sign_up

__all__ = ["hand_over", "personal_data", "sign_up"]
