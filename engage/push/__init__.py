"""Web Push: subscriptions, preferences, delivery and campaigns.

For other areas (back-in-stock alerts): `notify(session, env, owner_keys, Notice(...))` queues a
transactional push for every device of these owners whose topic is on (unique per `Notice.key` and device;
`notify_each` for many owners at once, each under a key of its own),
`wants(session, owner_key, topic, channel)` reads a preference (`preferences_of` all of them;
`quiet_ends(session, owner_key, now, zone)` when the owner's quiet hours end, if they are in them), `preferences_link(env, owner_key)` is the
signed link to the preference centre, `link_token`/`link_token_valid` sign an id for a link of another area
with the same key, and `Topic` names the topics.
"""

from engage.push.env import PushEnv
from engage.push.links import link_token, link_token_valid, preferences_link
from engage.push.models import Topic
from engage.push.notifications import Notice, notify, notify_each
from engage.push.preferences import get as preferences_of
from engage.push.preferences import quiet_ends, wants

__all__ = [
    "Notice",
    "PushEnv",
    "Topic",
    "link_token",
    "link_token_valid",
    "notify",
    "notify_each",
    "preferences_link",
    "preferences_of",
    "quiet_ends",
    "wants",
]
