"""Flash sales (and the marketing home page): every route handler of the area, for the app factory."""

from typing import Any

from engage.flash_sales.http import FlashSaleController, MarketingFlashSaleController
from engage.flash_sales.pages import marketing_pages

ROUTES: list[Any] = [FlashSaleController, MarketingFlashSaleController, *marketing_pages]
