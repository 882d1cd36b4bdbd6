"""Product reviews (docs/reviews.md): ratings and words from shoppers who bought the product.

For other areas: `Review` and `ReviewStatus` (loyalty's review bonus re-reads a review), and the
`review.changed` event (`ReviewChanged`) every write, deletion and moderation records.
"""

from commerce.reviews.events import ReviewChanged
from commerce.reviews.models import Review, ReviewStatus

__all__ = ["Review", "ReviewChanged", "ReviewStatus"]
