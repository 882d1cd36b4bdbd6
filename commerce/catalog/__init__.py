"""The catalog: products (public `handle`), variants, the category tree; listing, editing, import.

Other domains read products through `commerce.catalog.models` and the functions below; the stock room
(`stock_of`, `low_and_out`: levels with the sales pace and a suggested reorder) serves staff alerts.
"""

from commerce.catalog.cache import CatalogCache
from commerce.catalog.editing import load as load_product
from commerce.catalog.importing import ImportReport, detect_format, import_catalog
from commerce.catalog.listing import (
    ListingQuery,
    ProductCard,
    ProductView,
    VariantView,
    list_products,
    product_view,
)
from commerce.catalog.models import Category, Product, Variant
from commerce.catalog.stock_room import StockRow, low_and_out, stock_of

__all__ = [
    "CatalogCache",
    "Category",
    "ImportReport",
    "ListingQuery",
    "Product",
    "ProductCard",
    "ProductView",
    "StockRow",
    "Variant",
    "VariantView",
    "detect_format",
    "import_catalog",
    "list_products",
    "load_product",
    "low_and_out",
    "product_view",
    "stock_of",
]
