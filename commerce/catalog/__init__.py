"""The catalog: products (public `handle`), variants, the category tree; listing, editing, import.

Other domains read products through `commerce.catalog.models` and the functions below.
"""

from commerce.catalog.cache import CatalogCache
from commerce.catalog.editing import load as load_product
from commerce.catalog.importing import ImportReport, detect_format, import_catalog
from commerce.catalog.listing import ListingQuery, ProductCard, ProductView, list_products, product_view
from commerce.catalog.models import Category, Product, Variant

__all__ = [
    "CatalogCache",
    "Category",
    "ImportReport",
    "ListingQuery",
    "Product",
    "ProductCard",
    "ProductView",
    "Variant",
    "detect_format",
    "import_catalog",
    "list_products",
    "load_product",
    "product_view",
]
