"""Live leaderboards: boards defined by marketers over loyalty's ledger, referrals, flash sales and orders;
ranked in Redis sorted sets (memory embedded), rebuilt exactly from the database, live on
`leaderboard:{id}`.

For the assembly: `Leaderboards` (Services.leaderboards), `make_standings(redis, prefix)`,
`leaderboard_kind(runtime, leaderboards)` (engage.leaderboards.channel), `Metric`.
"""

from engage.leaderboards.models import Leaderboard, Metric, Period, Profile
from engage.leaderboards.service import BoardStandings, Entry, Leaderboards, set_profile
from engage.leaderboards.store import MemoryStandings, RedisStandings, Standing, make_standings

__all__ = [
    "BoardStandings",
    "Entry",
    "Leaderboard",
    "Leaderboards",
    "MemoryStandings",
    "Metric",
    "Period",
    "Profile",
    "RedisStandings",
    "Standing",
    "make_standings",
    "set_profile",
]
