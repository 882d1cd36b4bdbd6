"""Flash sales (and the marketing home page): every route handler of the area, for the app factory."""

from typing import Any

from engage.flash_sales.http import FlashSaleController, MarketingFlashSaleController, sold_out_refusal
from engage.flash_sales.pages import marketing_pages

ROUTES: list[Any] = [FlashSaleController, MarketingFlashSaleController, *marketing_pages]
# checks answered before the rest of a request (engage.http.early_refusals), made with the app's services
EARLY_REFUSALS = {"flash_sold_out": sold_out_refusal}
