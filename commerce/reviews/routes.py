"""Reviews: every route handler of the area, for the app factory."""

from typing import Any

from commerce.reviews.http import ReviewController, StaffReviewController

ROUTES: list[Any] = [ReviewController, StaffReviewController]
