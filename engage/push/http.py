"""HTTP doors of Web Push (docs/push.md): the browser's (key, subscriptions, clicks), the shopper's
(preferences, flash-sale reminders) and marketing's (campaigns, segments, audience counts)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from engage.http.guards import identity_of, marketer, public, shopper
from engage.http.params import Id
from engage.platform.errors import InvalidInput, NotAuthenticated, NotFound
from engage.platform.identity import Identity
from engage.push import (
    campaigns,
    links,
    notifications,
    preferences,
    reminders,
    results,
    segments,
    subscriptions,
)
from engage.push.subscriptions import Owner
from engage.services import Services

Text = Annotated[str, msgspec.Meta(max_length=2048)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
BodyId = Annotated[int, msgspec.Meta(ge=1, le=2**62)]


# ---- the browser ----------------------------------------------------------------------------------------


class PublicKeyOut(msgspec.Struct):
    public_key: str  # base64url: PushManager.subscribe({applicationServerKey})


class KeysIn(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(max_length=200)]
    auth: Annotated[str, msgspec.Meta(max_length=100)]


class SubscriptionIn(msgspec.Struct):
    """`PushSubscription.toJSON()`, plus what the opt-in prompt may add."""

    endpoint: Text
    keys: KeysIn
    expiration_time: float | None = msgspec.field(default=None, name="expirationTime")
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # IANA, from Intl
    topics: Annotated[list[Annotated[str, msgspec.Meta(max_length=32)]], msgspec.Meta(max_length=5)] = []
    application_server_key: Annotated[str, msgspec.Meta(max_length=200)] | None = msgspec.field(
        default=None, name="applicationServerKey"
    )

    def data(self, user_agent: str) -> subscriptions.SubscriptionIn:
        return subscriptions.SubscriptionIn(
            endpoint=self.endpoint,
            p256dh=self.keys.p256dh,
            auth=self.keys.auth,
            expiration_time=self.expiration_time,
            user_agent=user_agent,
            timezone=self.timezone,
            topics=tuple(self.topics),
            application_server_key=self.application_server_key,
        )


class RenewIn(msgspec.Struct):
    """From the service worker's `pushsubscriptionchange`: the old endpoint vouches for the new one."""

    old_endpoint: Text
    subscription: SubscriptionIn


class SubscriptionOut(msgspec.Struct):
    id: int
    endpoint: str
    user_agent: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ClickIn(msgspec.Struct):
    message_id: Annotated[str, msgspec.Meta(max_length=20)] | int
    token: Annotated[str, msgspec.Meta(max_length=64)]
    action: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # the button, if one was clicked


def _out(row: Any) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        endpoint=row.endpoint,
        user_agent=row.user_agent,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


class PushController(Controller):
    path = "/api/push"
    tags = ["push"]

    @get("/public-key", guards=[public])
    async def public_key(self, services: Services) -> PublicKeyOut:
        """The VAPID public key to subscribe with (`applicationServerKey`)."""
        return PublicKeyOut(public_key=services.push.public_key)

    @post("/subscriptions", guards=[shopper], status_code=201)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        data: SubscriptionIn,
        db_session: AsyncSession,
        services: Services,
    ) -> SubscriptionOut:
        """Save this browser's subscription for the signed-in shopper or the guest. Posting the same endpoint
        again updates it and answers the same id. Endpoints off ENGAGE_PUSH_ALLOWED_ENDPOINTS are 422."""
        owner = Owner.of(identity_of(request))
        row = await subscriptions.subscribe(
            db_session, services.push, owner, data.data(request.headers.get("user-agent", ""))
        )
        return _out(row)

    @post("/subscriptions/renew", guards=[public], status_code=201)
    async def renew(
        self, request: Request[Any, Any, Any], data: RenewIn, db_session: AsyncSession, services: Services
    ) -> SubscriptionOut:
        """The service worker's `pushsubscriptionchange`: replace `old_endpoint` (whose owner the new
        subscription gets) by the new subscription. No session needed: the old endpoint is the proof."""
        row = await subscriptions.renew(
            db_session,
            services.push,
            data.old_endpoint,
            data.subscription.data(request.headers.get("user-agent", "")),
        )
        return _out(row)

    @get("/subscriptions", guards=[shopper])
    async def mine(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> list[SubscriptionOut]:
        """This shopper's (or guest's) devices."""
        return [_out(r) for r in await subscriptions.of_owner(db_session, Owner.of(identity_of(request)))]

    @delete("/subscriptions/{subscription_id:int}", guards=[shopper], status_code=204)
    async def unsubscribe(
        self, request: Request[Any, Any, Any], subscription_id: Id, db_session: AsyncSession
    ) -> None:
        """Remove one of your subscriptions (anyone else's is 404)."""
        await subscriptions.unsubscribe(db_session, Owner.of(identity_of(request)), subscription_id)

    @delete("/subscriptions", guards=[shopper], status_code=204)
    async def unsubscribe_endpoint(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        endpoint: Annotated[str, Parameter(max_length=2048)],
    ) -> None:
        """Remove your subscription by its endpoint (`?endpoint=`), as the browser knows it."""
        if not await subscriptions.unsubscribe_endpoint(db_session, Owner.of(identity_of(request)), endpoint):
            raise NotFound("no such push subscription", code="subscription_not_found")

    @post("/clicks", guards=[public], status_code=204)
    async def click(self, data: ClickIn, db_session: AsyncSession, services: Services) -> None:
        """A notification was clicked (the service worker posts `message_id` and `click.token` from the
        payload). Idempotent; an unknown message or a wrong token is 404."""
        text = str(data.message_id)
        if not text.isdigit():
            raise NotFound("no such message", code="message_not_found")
        await results.record_click(db_session, services.push, int(text), data.token)


# ---- the shopper ------------------------------------------------------------------------------------------


class ChannelsIn(msgspec.Struct, forbid_unknown_fields=True):
    push: bool | None = None
    email: bool | None = None


class QuietHoursIn(msgspec.Struct, forbid_unknown_fields=True):
    start: Annotated[str, msgspec.Meta(max_length=5)]  # "22:00", local time
    end: Annotated[str, msgspec.Meta(max_length=5)]  # "07:30"


class PreferencesIn(msgspec.Struct, forbid_unknown_fields=True):
    """A partial update: only what is given changes; `quiet_hours: null` removes them."""

    topics: dict[Annotated[str, msgspec.Meta(max_length=32)], ChannelsIn] | None = None
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    quiet_hours: QuietHoursIn | msgspec.UnsetType | None = msgspec.UNSET
    marketing_unsubscribed: bool | None = None


class QuietHoursOut(msgspec.Struct):
    start: str
    end: str


class PreferencesOut(msgspec.Struct):
    topics: dict[str, dict[str, bool]]  # topic -> {"push": bool, "email": bool}
    timezone: str | None
    quiet_hours: QuietHoursOut | None
    marketing_unsubscribed: bool
    owner: Literal["user", "guest"]


def _preferences_owner(
    request: Request[Any, Any, Any], services: Services, token: str | None
) -> tuple[str, int | None]:
    if token is not None:
        owner = links.owner_of_token(services.push, token)
        user = owner.split(":", 1)[1] if owner.startswith("user:") else None
        return owner, int(user) if user and user.isdigit() else None
    ident: Identity = identity_of(request)
    if ident.user_id is None and not ident.guest_id:
        raise NotAuthenticated("sign in, or open the link from a notification", code="no_identity")
    return ident.owner_key, ident.user_id


def _prefs_out(data: dict[str, Any], owner: str) -> PreferencesOut:
    quiet = data["quiet_hours"]
    return PreferencesOut(
        topics=data["topics"],
        timezone=data["timezone"],
        quiet_hours=QuietHoursOut(**quiet) if quiet else None,
        marketing_unsubscribed=data["marketing_unsubscribed"],
        owner="user" if owner.startswith("user:") else "guest",
    )


class PreferencesController(Controller):
    path = "/api/notifications/preferences"
    tags = ["push"]

    @get("/", guards=[shopper])
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        services: Services,
        token: Annotated[str | None, Parameter(query="token", max_length=links.MAX_TOKEN_CHARS)] = None,
    ) -> PreferencesOut:
        """Your notification preferences; with `?token=` (the link in every marketing push) those of the
        link's owner, without signing in. A bad token is 403."""
        owner, _ = _preferences_owner(request, services, token)
        return _prefs_out(await preferences.get(db_session, owner), owner)

    @put("/", guards=[shopper])
    async def change(
        self,
        request: Request[Any, Any, Any],
        data: PreferencesIn,
        db_session: AsyncSession,
        services: Services,
        token: Annotated[str | None, Parameter(query="token", max_length=links.MAX_TOKEN_CHARS)] = None,
    ) -> PreferencesOut:
        """Change some preferences (a campaign already sending honours it for every message not yet sent)."""
        owner, user_id = _preferences_owner(request, services, token)
        change = preferences.Change(
            topics={
                t: {k: v for k, v in msgspec.structs.asdict(c).items() if v is not None}
                for t, c in data.topics.items()
            }
            if data.topics is not None
            else None,
            timezone=data.timezone,
            quiet_hours=msgspec.structs.asdict(data.quiet_hours)
            if isinstance(data.quiet_hours, QuietHoursIn)
            else None,
            clear_quiet_hours=data.quiet_hours is None,
            marketing_unsubscribed=data.marketing_unsubscribed,
        )
        return _prefs_out(
            await preferences.update_preferences(db_session, owner, change, user_id=user_id), owner
        )


class ReminderOut(msgspec.Struct):
    sale_id: int
    reminder: bool
    starts_at: datetime | None = None


class ReminderController(Controller):
    path = "/api/flash-sales/{sale_id:int}/reminders"
    tags = ["flash sales"]

    @post("/", guards=[shopper], status_code=201)
    async def remind(
        self, request: Request[Any, Any, Any], sale_id: Id, db_session: AsyncSession
    ) -> ReminderOut:
        """ "Remind me when it starts" (signed in or guest; idempotent): a push when the sale begins."""
        data = await reminders.remind(db_session, sale_id, Owner.of(identity_of(request)))
        return ReminderOut(sale_id=sale_id, reminder=True, starts_at=data["starts_at"])

    @get("/", guards=[shopper])
    async def show(
        self, request: Request[Any, Any, Any], sale_id: Id, db_session: AsyncSession
    ) -> ReminderOut:
        return ReminderOut(
            sale_id=sale_id,
            reminder=await reminders.asked(db_session, sale_id, Owner.of(identity_of(request))),
        )

    @delete("/", guards=[shopper], status_code=204)
    async def forget(self, request: Request[Any, Any, Any], sale_id: Id, db_session: AsyncSession) -> None:
        await reminders.forget(db_session, sale_id, Owner.of(identity_of(request)))


# ---- marketing --------------------------------------------------------------------------------------------


class ActionIn(msgspec.Struct, forbid_unknown_fields=True):
    action: Annotated[str, msgspec.Meta(max_length=32)]
    title: Annotated[str, msgspec.Meta(max_length=100)]
    url: Text = ""


class ContentIn(msgspec.Struct, forbid_unknown_fields=True):
    title: Short
    body: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    url: Text = "/"
    icon: Text = ""
    image: Text = ""
    actions: Annotated[list[ActionIn], msgspec.Meta(max_length=4)] = []

    def content(self) -> campaigns.Content:
        return campaigns.Content(
            title=self.title,
            body=self.body,
            url=self.url,
            icon=self.icon,
            image=self.image,
            actions=[campaigns.Action(a.action, a.title, a.url) for a in self.actions],
        )


class CampaignIn(ContentIn, forbid_unknown_fields=True):
    """A campaign: `title`, `body`, `url`, `icon`/`image`, `actions` are variant A; `variants` add B-D."""

    name: Short = ""
    variants: Annotated[list[ContentIn], msgspec.Meta(max_length=3)] = []
    segment: segments.Segment | None = None  # no segment: everyone opted in to offers
    segment_id: BodyId | None = None  # a saved segment (with `segment`: both must match)
    ttl_seconds: Annotated[int, msgspec.Meta(ge=60, le=28 * 86400)] = 24 * 3600
    urgency: Literal["very-low", "low", "normal", "high"] = "normal"
    rate_per_minute: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] | None = None
    cap_policy: Literal["wait", "drop"] = "wait"
    holdout_percent: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0
    test_percent: Annotated[int, msgspec.Meta(ge=1, le=100)] | None = None
    test_window_minutes: Annotated[int, msgspec.Meta(ge=0, le=10080)] = 0

    def draft(self) -> campaigns.Draft:
        return campaigns.Draft(
            name=self.name or self.title,
            content=self.content(),
            variants=[v.content() for v in self.variants],
            segment=self.segment,
            segment_id=self.segment_id,
            ttl_seconds=self.ttl_seconds,
            urgency=self.urgency,
            rate_per_minute=self.rate_per_minute,
            cap_policy=self.cap_policy,
            holdout_percent=self.holdout_percent,
            test_percent=self.test_percent,
            test_window_minutes=self.test_window_minutes,
        )


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    """`now`; `at` a UTC time (with offset); or `local`: the same wall-clock time (`local_at`, no offset,
    "2026-12-05T09:00") in each recipient's time zone."""

    mode: Literal["now", "at", "local"]
    at: datetime | None = None
    local_at: Annotated[str, msgspec.Meta(max_length=25)] | None = None

    def schedule(self) -> campaigns.Schedule:
        local = None
        if self.local_at is not None:
            try:
                local = datetime.fromisoformat(self.local_at)
            except ValueError:
                raise InvalidInput(
                    "local_at looks like 2026-12-05T09:00", code="bad_schedule", field="local_at"
                ) from None
        return campaigns.Schedule(self.mode, self.at, local)


class TestIn(msgspec.Struct, forbid_unknown_fields=True):
    variant: Literal["A", "B", "C", "D"] = "A"


class AudienceIn(msgspec.Struct, forbid_unknown_fields=True):
    segment: segments.Segment | None = None
    segment_id: BodyId | None = None


class SegmentIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    rules: segments.Segment


class FiguresOut(msgspec.Struct):
    key: str
    drawn: int
    sent: int
    accepted: int
    failed: int
    expired: int
    skipped: int
    cancelled: int
    clicked: int
    converted: int
    click_rate: float


class CampaignFiguresOut(msgspec.Struct):
    variants: list[FiguresOut]
    total: FiguresOut


class ScheduleOut(msgspec.Struct):
    mode: str
    at: datetime | None
    local_at: str | None


class CampaignSummaryOut(msgspec.Struct):
    id: int
    name: str
    status: str
    topic: str
    schedule: ScheduleOut
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    figures: dict[str, int] = {}


class ActionOut(msgspec.Struct):
    action: str
    title: str
    url: str


class ContentOut(msgspec.Struct):
    title: str
    body: str
    url: str
    icon: str
    image: str
    actions: list[ActionOut]


class VariantOut(ContentOut):
    key: str


class AbOut(msgspec.Struct):
    holdout_percent: int
    test_percent: int
    test_window_minutes: int
    test_ends_at: datetime | None
    winner: str | None


class HistoryOut(msgspec.Struct):
    to: str
    actor: str
    note: str
    at: datetime
    from_: str | None = msgspec.field(default=None, name="from")


class CampaignOut(msgspec.Struct):
    id: int
    name: str
    status: str
    topic: str
    schedule: ScheduleOut
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    content: ContentOut | None
    variants: list[VariantOut]
    segment: dict[str, Any] | None
    segment_id: int | None
    ttl_seconds: int
    urgency: str
    rate_per_minute: int | None
    cap_policy: str
    ab: AbOut
    stop_reason: str
    figures: CampaignFiguresOut
    history: list[HistoryOut]


class CancelOut(msgspec.Struct):
    accepted: int  # what the push service took before the cancel
    sent: int
    in_flight: int  # out with a sender right now: settles within seconds
    cancelled: int  # never sent


class AudienceOut(msgspec.Struct):
    devices: int  # reachable subscriptions
    people: int  # their distinct owners


class TestOut(msgspec.Struct):
    queued: int


class SegmentOut(msgspec.Struct):
    id: int
    name: str
    rules: dict[str, Any]
    created_at: datetime
    updated_at: datetime


async def _campaign(session: AsyncSession, campaign_id: int) -> CampaignOut:
    return msgspec.convert(await campaigns.view(session, campaign_id), CampaignOut, from_attributes=True)


class CampaignController(Controller):
    path = "/api/marketing/campaigns"
    tags = ["marketing"]
    guards = [marketer]

    @post("/", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: CampaignIn, db_session: AsyncSession, services: Services
    ) -> CampaignOut:
        """Compose a campaign (a draft). Only `title` is required; no segment targets everyone opted in to offers."""
        campaign = await campaigns.create(db_session, services.push, identity_of(request), data.draft())
        return await _campaign(db_session, campaign.id)

    @get("/")
    async def all(
        self,
        db_session: AsyncSession,
        status: Annotated[str | None, Parameter(max_length=16)] = None,
        before_id: Annotated[int | None, Parameter(ge=1, le=2**62)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[CampaignSummaryOut]:
        """Every campaign, newest first (`before_id` pages on), with its main figures."""
        rows = await campaigns.listing(db_session, status=status, before_id=before_id, limit=limit)
        return msgspec.convert(rows, list[CampaignSummaryOut])

    @get("/{campaign_id:int}")
    async def show(self, campaign_id: Id, db_session: AsyncSession) -> CampaignOut:
        """The campaign with its figures per variant and its history (every state change: who, when)."""
        return await _campaign(db_session, campaign_id)

    @put("/{campaign_id:int}")
    async def edit(
        self, campaign_id: Id, data: CampaignIn, db_session: AsyncSession, services: Services
    ) -> CampaignOut:
        """Replace a draft's content and audience (409 once scheduled)."""
        await campaigns.edit(db_session, services.push, campaign_id, data.draft())
        return await _campaign(db_session, campaign_id)

    @post("/{campaign_id:int}/schedule", status_code=200)
    async def schedule(
        self, request: Request[Any, Any, Any], campaign_id: Id, data: ScheduleIn, db_session: AsyncSession
    ) -> CampaignOut:
        await campaigns.schedule(db_session, campaign_id, identity_of(request), data.schedule())
        return await _campaign(db_session, campaign_id)

    @post("/{campaign_id:int}/send", status_code=200)
    async def send(
        self, request: Request[Any, Any, Any], campaign_id: Id, db_session: AsyncSession
    ) -> CampaignOut:
        """Send now. A campaign sending or sent is left alone: nothing is sent twice."""
        await campaigns.send_now(db_session, campaign_id, identity_of(request))
        return await _campaign(db_session, campaign_id)

    @post("/{campaign_id:int}/pause", status_code=200)
    async def pause(
        self, request: Request[Any, Any, Any], campaign_id: Id, db_session: AsyncSession
    ) -> CampaignOut:
        await campaigns.pause(db_session, campaign_id, identity_of(request))
        return await _campaign(db_session, campaign_id)

    @post("/{campaign_id:int}/resume", status_code=200)
    async def resume(
        self, request: Request[Any, Any, Any], campaign_id: Id, db_session: AsyncSession
    ) -> CampaignOut:
        await campaigns.resume(db_session, campaign_id, identity_of(request))
        return await _campaign(db_session, campaign_id)

    @post("/{campaign_id:int}/cancel", status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], campaign_id: Id, db_session: AsyncSession
    ) -> CancelOut:
        """Stop for good, at once: how many went, how many are still in flight, how many never will."""
        return CancelOut(**await campaigns.cancel(db_session, campaign_id, identity_of(request)))

    @post("/{campaign_id:int}/test", status_code=202)
    async def test(
        self,
        request: Request[Any, Any, Any],
        campaign_id: Id,
        db_session: AsyncSession,
        services: Services,
        data: TestIn | None = None,
    ) -> TestOut:
        """Send a variant to your own devices now (409 `no_devices` if you have none)."""
        ident = identity_of(request)
        assert ident.user_id is not None
        ids = await notifications.send_test(
            db_session,
            services.push,
            campaign_id,
            ident.user_id,
            variant=(data or TestIn()).variant,
            nonce=uuid.uuid4().hex,
        )
        return TestOut(queued=len(ids))

    @get("/{campaign_id:int}/audience")
    async def audience(self, campaign_id: Id, db_session: AsyncSession, services: Services) -> AudienceOut:
        """How many devices (and people) the campaign would reach now."""
        return AudienceOut(**await campaigns.audience_count(db_session, services.push, campaign_id))


class AudienceController(Controller):
    path = "/api/marketing/audience"
    tags = ["marketing"]
    guards = [marketer]

    @post("/count", status_code=200)
    async def count(self, data: AudienceIn, db_session: AsyncSession, services: Services) -> AudienceOut:
        """The live count while a segment is built: reachable devices and people opted in to offers."""
        if data.segment_id is not None:
            await segments.get_saved(db_session, data.segment_id)
        counted = await segments.count(
            db_session,
            data.segment or segments.Segment(),
            topic="offers",
            vapid_key=services.push.public_key,
            saved_id=data.segment_id,
            default_timezone=services.push.policy.default_timezone,
        )
        return AudienceOut(**counted)


def _segment_out(row: Any) -> SegmentOut:
    return SegmentOut(**segments.segment_view(row))


class SegmentController(Controller):
    path = "/api/marketing/segments"
    tags = ["marketing"]
    guards = [marketer]

    @post("/", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: SegmentIn, db_session: AsyncSession
    ) -> SegmentOut:
        return _segment_out(
            await segments.save(db_session, data.name, data.rules, user_id=identity_of(request).user_id)
        )

    @get("/")
    async def all(self, db_session: AsyncSession) -> list[SegmentOut]:
        return [_segment_out(row) for row in await segments.all_saved(db_session)]

    @get("/{segment_id:int}")
    async def show(self, segment_id: Id, db_session: AsyncSession) -> SegmentOut:
        return _segment_out(await segments.get_saved(db_session, segment_id))

    @put("/{segment_id:int}")
    async def edit(self, segment_id: Id, data: SegmentIn, db_session: AsyncSession) -> SegmentOut:
        return _segment_out(await segments.change(db_session, segment_id, data.name, data.rules))

    @delete("/{segment_id:int}", status_code=204)
    async def remove(self, segment_id: Id, db_session: AsyncSession) -> None:
        """Delete a saved segment (409 while a campaign uses it)."""
        await segments.remove(db_session, segment_id)


push_routes = [
    PushController,
    PreferencesController,
    ReminderController,
    CampaignController,
    AudienceController,
    SegmentController,
]
