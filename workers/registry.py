"""Every job, periodic job and event sink, in one list each (arq and the in-process runner read these)."""

from __future__ import annotations

from collections.abc import Callable

from engage.platform.events import Sink
from engage.platform.jobs import CronTask, Task
from engage.services import Services
from workers import (
    alerts,
    analytics,
    auth,
    bot,
    chat,
    commerce,
    flash_sales,
    housekeeping,
    loyalty,
    push,
    search,
)

TASKS: list[Task] = [
    alerts.stock_alert_wave,
    alerts.reconcile_stock_alerts,
    alerts.stock_alert_mail,
    alerts.low_stock_alert,
    alerts.low_stock_digest,
    alerts.send_low_stock_digest,
    analytics.roll_up_sales,
    analytics.sweep_sales_rollup,
    analytics.keep_funnel_days,
    auth.erase_requested_accounts,
    auth.send_sign_up_mail,
    housekeeping.purge_expired_store_keys,
    commerce.release_expired_holds,
    commerce.forget_old_idempotency_keys,
    commerce.delete_erased_payment_customers,
    search.index_search_backlog,
    search.reconcile_search_index,
    search.sweep_search_backlog,
    search.reindex_catalog,
    search.catch_up_in_memory,
    bot.embed_help_passages,
    bot.sweep_help_passages,
    bot.bot_reply,
    bot.note_shopper_handoff,
    bot.record_search_conversion,
    chat.send_chat_transcript,
    chat.chat_reply_by_email,
    chat.chat_upkeep,
    chat.purge_old_conversations,
    flash_sales.announce_sale_transitions,
    flash_sales.reconcile_flash_gates,
    push.push_campaign,
    push.push_deliver,
    push.push_order_update,
    push.push_chat_reply,
    push.push_sale_reminders,
    push.push_record_conversion,
    push.push_upkeep,
    loyalty.loyalty_clock,
    loyalty.sweep_loyalty_orders,
    loyalty.check_loyalty_ledger,
    loyalty.rebuild_leaderboards,
    loyalty.rebuild_leaderboard,
]

CRON: list[CronTask] = [
    CronTask(housekeeping.purge_expired_store_keys, every_seconds=300),
    # a hold that ran out is also reclaimed at once when someone needs its units; this catches the rest
    CronTask(commerce.release_expired_holds, every_seconds=30),
    CronTask(commerce.forget_old_idempotency_keys, every_seconds=3600),
    # erased accounts' customers at the payment provider (docs/auth.md: within minutes)
    CronTask(commerce.delete_erased_payment_customers, every_seconds=120),
    # restocks whose event was lost, waves that died: their alerts go out (docs/alerts.md)
    CronTask(alerts.reconcile_stock_alerts, every_seconds=300),
    # kept sales, products and buyers: orders changed lately (an event lost), the first build at start
    CronTask(analytics.sweep_sales_rollup, every_seconds=60, run_at_startup=True),
    # the funnel's days that ended are kept (a first build over the whole history at the first start)
    CronTask(analytics.keep_funnel_days, every_seconds=300, run_at_startup=True),
    # the daily low-stock digest goes out in its hour (ENGAGE_LOW_STOCK_DIGEST_HOUR)
    CronTask(alerts.low_stock_digest, every_seconds=3600),
    # accounts whose owners asked to be forgotten (docs/auth.md: within ten minutes)
    CronTask(auth.erase_requested_accounts, every_seconds=600),
    CronTask(chat.chat_upkeep, every_seconds=30),
    CronTask(chat.purge_old_conversations, every_seconds=86400),
    # search and bot: backlogs no drainer works on (work a command left, e.g. the demo seed before the
    # embedded server's first start, or a drainer that stopped) get one, at start and every 30 s
    CronTask(search.sweep_search_backlog, every_seconds=30, run_at_startup=True),
    CronTask(bot.sweep_help_passages, every_seconds=30, run_at_startup=True),
    CronTask(search.catch_up_in_memory, every_seconds=30),
    # products whose index is stale although nobody marked them (a change lost in a crash)
    CronTask(search.reconcile_search_index, every_seconds=3600),
    # open pages switch by their own (server-corrected) clocks; this confirms starts and ends within seconds
    CronTask(flash_sales.announce_sale_transitions, every_seconds=2, run_at_startup=True),
    # the claim gate in Redis follows the database, which has the last word
    CronTask(flash_sales.reconcile_flash_gates, every_seconds=30),
    # push: scheduled campaigns that are due, campaigns whose next job was lost, transactional leftovers
    CronTask(push.push_upkeep, every_seconds=10, run_at_startup=True),
    # pending points and referrals become due by the minute; expiry and birthdays are idempotent per day
    CronTask(loyalty.loyalty_clock, every_seconds=60),
    # orders whose event a crash lost settle here (settling twice changes nothing)
    CronTask(loyalty.sweep_loyalty_orders, every_seconds=600),
    CronTask(loyalty.check_loyalty_ledger, every_seconds=3600),
    # a wiped Redis (or an embedded restart) loses standings: rebuilt from the database at start and within 30 s
    CronTask(loyalty.rebuild_leaderboards, every_seconds=30, run_at_startup=True),
]


def realtime_sink(services: Services) -> Sink:
    return services.realtime.publishing.deliver


SINKS: list[Callable[[Services], Sink]] = [
    commerce.catalog_cache_sink,
    realtime_sink,  # committed events to their real-time channels
    search.search_sink,
    bot.help_sink,
    bot.chat_bot_sink,
    bot.conversion_sink,
    flash_sales.flash_sale_sink,  # a claim's hold ended: sold, or back on sale
    alerts.stock_alert_sink,  # a restock's waves of back-in-stock alerts
    chat.reply_email_sink,  # replies mailed to shoppers who left an email when nobody was online
    push.push_sink,  # campaigns to drive, messages to deliver, orders/chat/sales to notify, conversions
    loyalty.loyalty_sink,  # orders into the points and credit ledger
    analytics.sales_today_sink,  # today's tiles on the marketers' dashboard
    analytics.funnel_sink,  # product views and cart additions marked for the funnel
    loyalty.leaderboard_sink,  # last: standings follow the ledger, referrals, orders and flash-sale claims
]
