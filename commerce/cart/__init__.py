"""Carts of guests and signed-in shoppers (owner key "guest:..." / "user:...").

For other areas: `current_cart(session, owner, currency=...)` -> CartView (the agent console's context
panel), priced now with the catalog's prices (promotions are the caller's to pass).
"""

from commerce.cart.carts import CartView, add_held_unit, lines_of, merge, remove_lines, set_quantity
from commerce.cart.carts import view as current_cart

__all__ = ["CartView", "add_held_unit", "current_cart", "lines_of", "merge", "remove_lines", "set_quantity"]
