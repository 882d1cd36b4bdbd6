"""The support bot's decision for one shopper message: an intent, an article answer, or an honest fallback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.embeddings import Embedder
from bots.support import intents, product_facts, stock
from bots.support.article_examples import ArticleExamples
from bots.support.intent_bank import INTENTS, NOT_AN_INTENT, PRODUCT_QUESTION, IntentBank, IntentScores, focus
from bots.support.intent_bank import OUT_OF_SCOPE as BEYOND_THE_SHOP
from bots.support.knowledge import KnowledgeBase, PassageHit, plain
from bots.support.llm import GroundedAnswerer
from bots.support.scope import ShopVocabulary, another_party

log = logging.getLogger("engage.bot")

Kind = Literal["article", "intent", "fallback"]


@dataclass(frozen=True)
class BotConfig:
    """Thresholds measured with `engage eval bot` (see docs/architecture.md)."""

    # Below this cosine the question is about nothing the help centre covers: out of scope. On the
    # evaluation set out-of-scope questions score <= 0.13 and answerable ones >= 0.34.
    scope_floor: float = 0.22
    # Between scope_floor and answer_floor, or when the two best articles are within ambiguity_gap and the
    # best is under sure_floor, the bot asks one clarifying question. Cosine gaps between a right answer and
    # the runner-up are often small (0.01-0.03), so the gap alone never makes it ask above sure_floor.
    answer_floor: float = 0.30
    ambiguity_gap: float = 0.01
    sure_floor: float = 0.40
    # While passages wait for their vectors (or the model loads) the bot retrieves by words (BM25): it
    # answers only when the best article holds at least words_floor of the question's meaningful words
    # (idf-weighted) and its BM25 is words_lead times the next article's; otherwise it hands over instead
    # of guessing "out of scope". Measured on the evaluation set (`engage eval bot --by-words`): shoppers
    # paraphrase, so words rarely suffice; at these values every answer it gives is right.
    words_floor: float = 0.5
    words_lead: float = 1.5
    # The semantic leg is used once this share of the passages has a vector: by words the bot answers few
    # questions (it hands the rest over), so meaning over most articles beats words over all of them (an
    # edited article's new passages wait seconds for their vectors; a new help centre starts at none).
    embedded_share: float = 0.5
    # Intents by example (intent_bank.py), measured on the dev and original sets (`engage eval bot`): a label
    # is taken when it is the best label, clears its floor and leads the next label by intent_margin. A
    # request for a person needs only to be the best label (a missed one costs more than a person
    # answering); an order-status question may also score lower if it leads clearly (order_status_lead).
    human_floor: float = 0.50
    # ...or lower when it leads clearly and no article is near (under answer_floor): frustration with the bot
    # ("this is going nowhere", "stop giving me articles") is near few examples of anything, and nearest the
    # requests for a person
    human_low_floor: float = 0.33
    human_lead: float = 0.05
    greeting_floor: float = 0.60
    order_status_floor: float = 0.55
    intent_margin: float = 0.02
    order_status_low_floor: float = 0.40
    order_status_lead: float = 0.10
    # The rules (intents.py) are the backstop; they do not fire on a message the examples call a question
    # this clearly (a payment-verification question that says "I need someone to help me").
    rule_question_veto: float = 0.55
    # Out of scope by example: the out-of-scope examples beat the best article by this much
    out_of_scope_floor: float = 0.35
    out_of_scope_lead: float = 0.03
    # ...or they are within out_of_scope_near of the nearest in-scope examples (labels and article questions)
    # and the message without the words the shop never uses is under shop_words_floor (cosine) of itself
    # (scope.py). Measured on the dev sets: other parties' business named by what they are (a bank, an
    # airline, a taxi app) and general knowledge; the in-scope messages this near are requests for a person,
    # decided before.
    out_of_scope_near: float = 0.12
    shop_words_floor: float = 0.80
    # An article is scored by its passages and its example questions (article_examples.py); it is given as
    # the answer only if its best passage is itself this near the message (cosine), else the bot asks: a vague
    # message ("hmm the thing I got") can be near a short example question and near no text of the article.
    # On the dev sets the answerable questions' chosen passage scores >= 0.28 (one at 0.20, asked about).
    passage_floor: float = 0.26
    # ...unless its example questions are this near (mean of the 2 nearest) and it leads the next article by
    # examples_lead: a short question ("open on new year's day?") is far from any long passage.
    examples_sure: float = 0.60
    examples_lead: float = 0.10


@dataclass
class Decision:
    kind: Kind
    answer: str
    confidence: float = 0.0
    article_id: str | None = None
    intent: str | None = None
    passages: list[dict[str, Any]] = field(default_factory=list)
    handoff: bool = False  # hand the conversation to the agent queue
    reason: str | None = None  # why it was handed off
    clarifying: bool = False  # the bot asked the shopper to say more
    by_words: bool = False  # retrieval was by words: the semantic leg was warming up
    offered_variant_id: int | None = None  # sold out: the bot offered to tell the shopper when it is back

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "article_id": self.article_id,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "answer": self.answer,
            "passages": self.passages,
            "by_words": self.by_words,
        }


@dataclass
class Shopper:
    """Who is writing, as far as the bot may know: their id (signed in) or nothing."""

    user_id: int | None = None
    name: str = ""


# (session, shopper, text) -> a reply about their order(s); commerce's orders answer it
OrderStatus = Callable[[AsyncSession, Shopper, str], Awaitable[str]]

GREETING = "Hi! I'm Luxia's assistant. Ask me about orders, delivery, returns, payments or your account."
WELCOME = "You're welcome! Is there anything else I can help with?"
WARMING_UP = (
    "I'm still getting ready and can't look that up properly yet, so I'm passing you to a member of our "
    "support team; they'll see everything you've written so far."
)
HANDOFF = "I'm passing you to a member of our support team now; they'll see everything you've written so far."
OUT_OF_SCOPE = (
    "Sorry, I can't help with that: I only know about Luxia orders, delivery, returns, payments and your "
    "account. Would you like me to connect you with a person?"
)
ORDER_STATUS_SIGN_IN = (
    "I can check that for you. Please sign in so I can see your orders, or send me your order number "
    "(it looks like EN-7KQ3M9PX, in your confirmation email) and the email address you used at checkout."
)


def _passage_dict(hit: PassageHit) -> dict[str, Any]:
    p = hit.passage
    return {
        "id": p.id,
        "article_id": p.article_slug,
        "title": p.article_title,
        "position": p.position,
        "text": p.text,
        "score": round(hit.score, 4),
        "url": f"/help/{p.article_slug}",
    }


H = TypeVar("H", bound=PassageHit)


@dataclass(frozen=True)
class ArticleHit(PassageHit):
    """An article's best passage; `score` is the article's (passage and example questions), `passage_score`
    the passage's own cosine, `example_score` its example questions'."""

    passage_score: float = 0.0
    example_score: float = 0.0


def _about_a_product(views: list[IntentScores]) -> bool:
    """The message (a long one: its question) reads most like a question about a product itself (its size,
    material, features) among the labelled examples, not like one about an order or a policy that merely
    names a product ("the lamp came cracked, what do I do?"). True while the examples wait for vectors."""
    return not views or views[-1].label == PRODUCT_QUESTION


def _best_per_article(hits: Sequence[H]) -> list[H]:
    """Each article's best hit, in the order of the hits."""
    best: dict[str, H] = {}
    for hit in hits:
        best.setdefault(hit.passage.article_slug, hit)
    return list(best.values())


class SupportBot:
    def __init__(
        self,
        *,
        knowledge: KnowledgeBase,
        embedder: Embedder,
        sessionmaker: async_sessionmaker[AsyncSession],
        answerer: GroundedAnswerer | None = None,
        order_status: OrderStatus | None = None,
        config: BotConfig | None = None,
        intent_bank: IntentBank | None = None,
        article_examples: ArticleExamples | None = None,
        find_products: stock.Finder | None = None,
        currency: str = "usd",
    ) -> None:
        self.knowledge = knowledge
        self.intent_bank = intent_bank or IntentBank()
        self.article_examples = article_examples or ArticleExamples()
        self.embedder = embedder
        self.sessionmaker = sessionmaker
        self.answerer = answerer
        self.order_status_answer = order_status
        self.config = config or BotConfig()
        self.find_products = find_products
        self.currency = currency
        self._vocabulary: tuple[object, ShopVocabulary] | None = None

    def vocabulary(self) -> ShopVocabulary:
        """The shop's words: its help centre's (rebuilt when the passages are reloaded) and example questions'."""
        passages = self.knowledge.passages
        if self._vocabulary is None or self._vocabulary[0] is not passages:
            texts = [p.article_title + " " + p.text for p in passages.values()]
            texts += self.article_examples.texts + [
                t
                for label, t in zip(self.intent_bank.labels, self.intent_bank.texts, strict=True)
                if label != BEYOND_THE_SHOP
            ]
            self._vocabulary = (passages, ShopVocabulary(texts))
        return self._vocabulary[1]

    def semantic_ready(self) -> bool:
        """Retrieval by meaning needs the model (it starts loading here if nobody asked yet) and vectors for
        the passages; never waits."""
        self.embedder.warm_up()  # returns at once; ready at once if this process has the model already
        if not self.embedder.ready:
            return False
        return self.knowledge.embedded_share >= self.config.embedded_share

    async def retrieve(self, session: AsyncSession, text: str, k: int = 8) -> list[PassageHit]:
        await self.knowledge.ensure_loaded(session)
        if session.in_transaction():
            await session.commit()  # no transaction stays open while the model (or an LLM) works
        if not len(self.knowledge.vectors):
            return []
        return self.knowledge.search(await self.embedder.embed_query(text), k)

    async def warm_up(self) -> None:
        """Embed the intent examples (once per process; the first shopper question need not wait)."""
        await self.embedder.loaded()
        await self.intent_bank.ensure_embedded(self.embedder)
        await self.article_examples.ensure_embedded(self.embedder, list(self.knowledge.articles.values()))

    async def decide(
        self,
        session: AsyncSession,
        text: str,
        *,
        shopper: Shopper | None = None,
        unsure_before: bool = False,
        use_llm: bool = True,
        context: str | None = None,
        by_words: bool | None = None,
    ) -> Decision:
        """What the bot would answer to `text`.

        `unsure_before`: it already asked to clarify once. `context`: the shopper's recent messages, where
        an order lookup may find the order number and email given earlier. `by_words`: retrieve by words
        (None: when the semantic leg is not ready); intents are then the rules alone.
        """
        shopper = shopper or Shopper()
        await self.knowledge.ensure_loaded(session)
        if by_words or (by_words is None and not self.semantic_ready()):
            intent = intents.detect(text)
            if intent is not None:
                return await self._intent(session, intent, text, shopper, context=context)
            if (about_stock := await self.stock(session, text)) is not None:
                return about_stock
            return await self._decide_by_words(session, text, use_llm=use_llm)

        if session.in_transaction():
            await session.commit()  # no transaction stays open while the model (or an LLM) works
        question = focus(text)
        whole = await self.embedder.embed_query(text)
        asked = await self.embedder.embed_query(question) if question else None
        if not self.intent_bank.ready:  # a few seconds after start: the rules alone, never waiting
            self.intent_bank.start_embedding(self.embedder)
            views: list[IntentScores] = []
        else:
            views = [self.intent_bank.scores(whole)]
            if asked is not None:
                views.append(self.intent_bank.scores(asked))
        # a long message is retrieved by its question as much as by its story
        vector = whole if asked is None else (whole + asked) / np.linalg.norm(whole + asked)
        hits, ranked = self._rank_articles(vector)
        confidence = ranked[0].score if ranked else 0.0
        intent = self._recognise(text, question, views, article_score=confidence)
        if (intent is None or intent.name == "order_status") and (
            intents.about_another_company(text) or await self._names_another_party(session, text)
        ):
            # "my Amazon order is late", "cancel my Zappos": another company's business (a request for a
            # person still goes to a person)
            passages = [_passage_dict(h) for h in ranked[:3]]
            return Decision("fallback", OUT_OF_SCOPE, confidence, passages=passages, reason="out of scope")
        if intent is not None:
            return await self._intent(session, intent, text, shopper, context=context)
        if (about_stock := await self.stock(session, text)) is not None:
            return about_stock

        gap = confidence - ranked[1].score if len(ranked) > 1 else confidence
        cfg = self.config
        passages = [_passage_dict(h) for h in ranked[:3]]
        if (
            confidence < cfg.sure_floor
            and _about_a_product(views)
            and (about_product := await self.product(session, text)) is not None
        ):
            return about_product

        beyond = views[0].scores.get(BEYOND_THE_SHOP, 0.0) if views else 0.0
        if (
            confidence < cfg.scope_floor
            or (beyond >= cfg.out_of_scope_floor and beyond >= confidence + cfg.out_of_scope_lead)
            or await self._in_words_the_shop_never_uses(text, whole, views, ranked[0])
        ):
            return Decision("fallback", OUT_OF_SCOPE, confidence, passages=passages, reason="out of scope")
        unsure = (
            confidence < cfg.answer_floor
            or (gap < cfg.ambiguity_gap and confidence < cfg.sure_floor)
            or (isinstance(ranked[0], ArticleHit) and not self._sure_by_examples(ranked[0], gap))
        )
        if unsure:
            if unsure_before:
                return Decision(
                    "fallback",
                    HANDOFF,
                    confidence,
                    passages=passages,
                    handoff=True,
                    reason="the bot was unsure twice",
                )
            titles = [h.passage.article_title for h in ranked[:2]]
            clarify = (
                f"I want to get this right: is your question about “{titles[0]}”"
                + (f" or “{titles[1]}”?" if len(titles) > 1 else "?")
                + " Tell me a little more and I'll find the answer."
            )
            return Decision(
                "fallback", clarify, confidence, passages=passages, clarifying=True, reason="unsure"
            )

        return await self._article(text, hits, ranked[0], use_llm=use_llm)

    async def _names_another_party(self, session: AsyncSession, text: str) -> bool:
        """The message is about the order or account of a company the shop does not know (scope.py), and
        not one of its own catalog's brands or products ("is my Sonorel order on its way?")."""
        name = another_party(text, self.vocabulary())
        if name is None:
            return False
        if self.find_products is None:
            return True
        product = await product_facts.find(session, self.find_products, name, currency=self.currency)
        if session.in_transaction():
            await session.commit()  # no transaction stays open while the model (or an LLM) works
        return product is None

    async def _in_words_the_shop_never_uses(
        self, text: str, whole: np.ndarray, views: list[IntentScores], top: PassageHit
    ) -> bool:
        """Out of scope by meaning, for a message that reads like a shop question about someone else's
        business ("my bank won't refund a fraudulent transaction", "how do airline loyalty programs make
        money?"): the out-of-scope examples are nearly as near as the nearest in-scope ones, and the words
        the shop never uses carry much of its meaning (without them it means something else)."""
        cfg = self.config
        if not views or not isinstance(top, ArticleHit):
            return False
        scores = views[-1].scores
        beyond = scores.get(BEYOND_THE_SHOP, 0.0)
        within = max([top.example_score] + [s for label, s in scores.items() if label != BEYOND_THE_SHOP])
        if beyond < within - cfg.out_of_scope_near:
            return False
        shop_words = self.vocabulary().shop_words_only(text)
        if shop_words == text:
            return False
        vector = await self.embedder.embed_query(shop_words or ".")
        return float(vector @ whole) < cfg.shop_words_floor

    def _sure_by_examples(self, top: ArticleHit, gap: float) -> bool:
        """The article's own text is near the message, or its example questions are very near and it leads."""
        cfg = self.config
        return top.passage_score >= cfg.passage_floor or (
            top.example_score >= cfg.examples_sure and gap >= cfg.examples_lead
        )

    def _rank_articles(self, vector: np.ndarray) -> tuple[list[PassageHit], Sequence[PassageHit]]:
        """(every passage, best first; each article's best passage scored for its article), best first.

        An article's score is the mean of its best passage's cosine and its nearest example questions'
        (article_examples.py); by passages alone until the examples are embedded."""
        if not len(self.knowledge.vectors):
            return [], []
        hits = self.knowledge.search(vector, len(self.knowledge.vectors))
        best = _best_per_article(hits)
        articles = self.knowledge.articles
        if not self.article_examples.covers(articles):
            self.article_examples.start_embedding(self.embedder, list(articles.values()))
            return hits, best
        asked = self.article_examples.scores(vector, articles)
        ranked = sorted(
            (
                ArticleHit(
                    h.passage, (h.score + (e := asked.get(h.passage.article_slug, h.score))) / 2, h.score, e
                )
                for h in best
            ),
            key=lambda h: -h.score,
        )
        return hits, ranked

    def _recognise(
        self, text: str, question: str | None, views: list[IntentScores], *, article_score: float = 1.0
    ) -> intents.Intent | None:
        """An intent by example (the whole message and its question), then the rules as a backstop.

        `article_score`: how near the best help article is; a weak lead of the requests for a person counts
        only when no article is near either ("this is going nowhere").

        A request for a person counts from either view and wins over everything; the other intents of a
        long message are judged by its question only (the story before it says "I ordered...")."""
        cfg = self.config
        floors = {
            "human": cfg.human_floor,
            "greeting": cfg.greeting_floor,
            "order_status": cfg.order_status_floor,
        }
        found: dict[str, float] = {}
        for i, view in enumerate(views):
            if view.label not in INTENTS:
                continue
            margin = view.margin()
            taken = view.score >= floors[view.label] and (
                view.label == "human" or margin >= cfg.intent_margin
            )
            if (
                view.label == "human"
                and view.score >= cfg.human_low_floor
                and article_score < cfg.answer_floor
            ):
                taken = taken or margin >= cfg.human_lead
            if view.label == "order_status" and view.score >= cfg.order_status_low_floor:
                taken = taken or margin >= cfg.order_status_lead
            if not taken:
                continue
            if view.label != "human" and question is not None and i == 0:
                continue
            found[view.label] = max(found.get(view.label, 0.0), view.score)
        if "human" in found:
            return intents.Intent("human", "asked for a person")
        if intents.not_a_lookup(question or text):  # "what does 'label created' mean?": an article
            found.pop("order_status", None)
        questionish = (
            max((v.scores.get(NOT_AN_INTENT, 0.0) for v in views), default=0.0) >= cfg.rule_question_veto
        )
        rule = intents.detect(text)
        if rule is not None and rule.name == "human" and (not questionish or intents.names_a_person(text)):
            return rule
        if found:
            best = max(found, key=lambda label: found[label])
            return intents.Intent(best, f"{best} (by example)")
        beyond = (
            bool(views) and views[-1].label == BEYOND_THE_SHOP and views[-1].score >= cfg.out_of_scope_floor
        )
        rule = intents.detect(question or text)
        if rule is not None and rule.name != "human" and not questionish and not beyond:
            return rule
        if (
            rule is None
            and question is not None
            and not questionish
            and intents.asks_after_own_order(question, text)
        ):
            return intents.Intent("order_status", "order status (the question of a story about an order)")
        return None

    async def _decide_by_words(self, session: AsyncSession, text: str, *, use_llm: bool) -> Decision:
        """The semantic leg is warming up: answer from an article only on a clear match of the question's
        words; anything else goes to a person (the bot cannot tell "out of scope" by words)."""
        if session.in_transaction():
            await session.commit()  # no transaction stays open while an LLM works
        hits = self.knowledge.search_words(text)
        ranked = _best_per_article(hits)
        confidence = ranked[0].score if ranked else 0.0
        clear = len(ranked) == 1 or (
            len(ranked) > 1 and ranked[0].bm25 >= self.config.words_lead * ranked[1].bm25
        )
        if confidence < self.config.words_floor or not clear:
            return Decision(
                "fallback",
                WARMING_UP,
                confidence,
                passages=[_passage_dict(h) for h in ranked[:3]],
                handoff=True,
                reason="the bot was warming up and found no clear answer",
                by_words=True,
            )
        return await self._article(text, hits, ranked[0], use_llm=use_llm, by_words=True)

    async def _article(
        self,
        text: str,
        hits: Sequence[PassageHit],
        top: PassageHit,
        *,
        use_llm: bool,
        by_words: bool = False,
    ) -> Decision:
        """The answer from `top`'s article: its passage, or an LLM's answer written from its passages."""
        used = [h for h in hits if h.passage.article_slug == top.passage.article_slug][:3]
        answer = self._retrieval_answer(top)
        if use_llm and self.answerer is not None:
            grounded = await self.answerer.answer(text, used)
            if grounded:
                answer = grounded
        return Decision(
            "article",
            answer,
            top.score,
            article_id=top.passage.article_slug,
            passages=[_passage_dict(h) for h in used],
            by_words=by_words,
        )

    @staticmethod
    def _retrieval_answer(hit: PassageHit) -> str:
        p = hit.passage
        return f"{plain(p.text)}\n\nMore in “{p.article_title}”: /help/{p.article_slug}"

    async def _intent(
        self,
        session: AsyncSession,
        intent: intents.Intent,
        text: str,
        shopper: Shopper,
        *,
        context: str | None = None,
    ) -> Decision:
        if intent.name == "human":
            return Decision("intent", HANDOFF, 1.0, intent="human", handoff=True, reason=intent.reason)
        if intent.name == "greeting":
            if intents.is_thanks(text):
                return Decision("intent", WELCOME, 1.0, intent="greeting")
            hello = f"Hi {shopper.name.split()[0]}! " if shopper.name else ""
            return Decision("intent", (hello + GREETING[4:]) if hello else GREETING, 1.0, intent="greeting")
        return await self.order_status(session, shopper, context or text)

    async def stock(self, session: AsyncSession, text: str) -> Decision | None:
        """A question about a product's stock, answered from live stock when the product is found (None
        otherwise: the help articles answer it, e.g. how alerts work)."""
        if self.find_products is None or not stock.asks_about_stock(text):
            return None
        reply = await stock.answer(session, self.find_products, text, currency=self.currency)
        if reply.answer == stock.NOT_FOUND:
            return None
        return Decision("intent", reply.answer, 1.0, intent="stock", offered_variant_id=reply.variant_id)

    async def product(self, session: AsyncSession, text: str) -> Decision | None:
        """A question about a product the text names, answered from the catalog's facts of it (None when
        it names none: the articles answer)."""
        if self.find_products is None or not product_facts.asks_a_question(text):
            return None
        product = await product_facts.find(session, self.find_products, text, currency=self.currency)
        if product is None:
            return None
        if session.in_transaction():
            await session.commit()  # no transaction stays open while the model works
        reply = await product_facts.answer(self.embedder, product, focus(text) or text)
        return Decision("intent", reply.answer, reply.confidence, intent="product")

    async def order_status(self, session: AsyncSession, shopper: Shopper, text: str) -> Decision:
        answer = ORDER_STATUS_SIGN_IN
        if self.order_status_answer is not None:
            answer = await self.order_status_answer(session, shopper, text)
        return Decision("intent", answer, 1.0, intent="order_status")
