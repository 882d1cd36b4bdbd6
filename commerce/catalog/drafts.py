"""What a product looks like on the way in (admin API and import files), validated by msgspec."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

HANDLE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

Handle = Annotated[str, msgspec.Meta(pattern=HANDLE_PATTERN, description="public id, e.g. aud-001")]
Sku = Annotated[str, msgspec.Meta(pattern=SKU_PATTERN)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Label = Annotated[str, msgspec.Meta(max_length=120)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
# a photo elsewhere (https), a file of this site, or a picture drawn here (commerce/catalog/images.py)
ImageUrl = Annotated[str, msgspec.Meta(pattern=r"^(https://|/static/|/media/products/)\S{1,500}$")]


class VariantDraft(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    price_cents: Cents
    options: dict[Label, Label] = {}
    compare_at_cents: Cents | None = None
    weight_grams: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    # Units on hand: set (through the ledger) when given, left alone when omitted.
    stock: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)] | None = None
    low_stock_threshold: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None


class ProductDraft(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    variants: Annotated[list[VariantDraft], msgspec.Meta(min_length=1, max_length=200)]
    brand: Label = ""
    description: Annotated[str, msgspec.Meta(max_length=20_000)] = ""
    category: Label | None = None
    subcategory: Label | None = None
    status: Literal["published", "draft"] = "published"
    tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []
    attributes: dict[str, Any] = {}
    images: Annotated[list[ImageUrl], msgspec.Meta(max_length=20)] = []


class VariantChange(msgspec.Struct, forbid_unknown_fields=True):
    """What an in-place edit changes of a variant (what it leaves out stays)."""

    id: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    price_cents: Cents | msgspec.UnsetType = msgspec.UNSET
    compare_at_cents: Cents | msgspec.UnsetType | None = msgspec.UNSET  # null: no compare-at price


class ProductChange(msgspec.Struct, forbid_unknown_fields=True):
    """An in-place edit of a product: the fields given change, the rest stay. `updated_at` is the version
    the editor saw: a save by someone else since then is a 409, not overwritten."""

    updated_at: datetime
    name: Name | msgspec.UnsetType = msgspec.UNSET
    status: Literal["published", "draft"] | msgspec.UnsetType = msgspec.UNSET
    images: Annotated[list[ImageUrl], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    variants: Annotated[list[VariantChange], msgspec.Meta(max_length=200)] = []


class ImportedProduct(ProductDraft, forbid_unknown_fields=True):
    """A product of an import file: the file's `id` is the product's handle."""

    id: Handle = ""


def problems_of(draft: ProductDraft) -> list[str]:
    """Rules msgspec cannot express: unique SKUs within the product, compare-at above price."""
    problems = []
    seen: set[str] = set()
    for variant in draft.variants:
        if variant.sku in seen:
            problems.append(f"SKU {variant.sku} appears twice")
        seen.add(variant.sku)
        if variant.compare_at_cents is not None and variant.compare_at_cents <= variant.price_cents:
            problems.append(f"SKU {variant.sku}: compare_at_cents must be above price_cents")
    if draft.subcategory and not draft.category:
        problems.append("a subcategory needs a category")
    return problems
