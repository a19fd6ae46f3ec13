"""The movie catalogue: deployed as the ``movies`` reference table (sql/015_movies.sql)
and used by the generator, so every booking's price follows its movie's tier.

Tiers use the pipeline's price categories: BUDGET under 10, STANDARD 10 to 20,
PREMIUM over 20 (per ticket).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

TIER_BANDS: dict[str, tuple[Decimal, Decimal]] = {
    "BUDGET": (Decimal("5.00"), Decimal("9.99")),
    "STANDARD": (Decimal("10.00"), Decimal("20.00")),
    "PREMIUM": (Decimal("20.01"), Decimal("32.00")),
}


@dataclass(frozen=True)
class Movie:
    movie_id: str
    title: str
    genre: str
    price_tier: str
    base_ticket_price: Decimal

    def as_row(self) -> dict[str, object]:
        return {
            "movie_id": self.movie_id,
            "title": self.title,
            "genre": self.genre,
            "price_tier": self.price_tier,
            "base_ticket_price": str(self.base_ticket_price),
        }


MOVIES: tuple[Movie, ...] = tuple(
    Movie(i, t, g, tier, Decimal(p))
    for i, t, g, tier, p in (
        ("M001", "The Last Projectionist", "Drama", "STANDARD", "12.50"),
        ("M002", "Midnight Matinee", "Comedy", "STANDARD", "10.00"),
        ("M003", "Orbitfall: IMAX Experience", "Sci-Fi", "PREMIUM", "25.00"),
        ("M004", "Harbour Lights", "Romance", "STANDARD", "16.00"),
        ("M005", "The Paper Kingdom", "Family", "STANDARD", "15.00"),
        ("M006", "Cold Open", "Thriller", "STANDARD", "13.50"),
        ("M007", "Reel Two", "Documentary", "BUDGET", "7.50"),
        ("M008", "Sunday Classics: The Long Goodbye", "Classic", "BUDGET", "6.00"),
        ("M009", "Dune Riders 3D", "Action", "PREMIUM", "22.00"),
        ("M010", "A Quiet Interval", "Drama", "BUDGET", "8.50"),
        ("M011", "Neon Harvest", "Animation", "STANDARD", "11.00"),
        ("M012", "Opening Night Gala", "Event", "PREMIUM", "29.00"),
    )
)


def clamp_to_tier(price: Decimal, tier: str) -> Decimal:
    """Keep a price inside its movie's tier band."""
    lo, hi = TIER_BANDS[tier]
    return min(max(price, lo), hi)
