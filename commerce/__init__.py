"""The commerce core: catalog, inventory, cart, checkout, orders, payments."""
