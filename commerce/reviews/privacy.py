"""A shopper's reviews in a privacy request: exported, and deleted with the account."""

from commerce.reviews.service import erase, export
from engage.auth import PersonalData

personal_data = PersonalData("product_reviews", export, erase)
