"""Reviews: every route handler of the area, for the app factory."""

from typing import Any

from commerce.reviews.http import ReviewController, StaffReviewController
from commerce.reviews.pages import review_pages

ROUTES: list[Any] = [ReviewController, StaffReviewController, *review_pages]
