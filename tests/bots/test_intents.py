"""The rules behind the bot's intents and stock questions, and the article examples' scoring (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from bots.support import intents, stock
from bots.support.article_examples import ArticleExamples, load_questions
from bots.support.knowledge import read_directory
from engage.demo import DATA


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want whoever is in charge to sort this out today", "human"),
        ("Escalation please. Second broken parcel.", "human"),
        ("can you get one of your people to check my account", "human"),
        ("I'll post a one star review unless a manager contacts me", "human"),
        ("you are thieves, I want my money back", "human"),
        ("can I have a word with a colleague of yours", "human"),
        ("thanks, that's everything", "greeting"),
        ("yo what's up", "greeting"),
        ("ty!", "greeting"),
        ("why isn't my box here yet", "order_status"),
    ],
)
def test_rules_recognise(text: str, intent: str) -> None:
    found = intents.detect(text)
    assert found is not None and found.name == intent, found


@pytest.mark.parametrize(
    "text",
    [
        "my bank asks me to approve a payment in its app, is this a scam?",  # a worried question
        "do I pay import duties when my parcel arrives in Canada?",  # arrival is the condition
        "what does 'label created' mean on my order?",  # what a status means
        "when can I chat with an agent, what hours are you open?",  # support hours
        "my parcel shows as delivered but it isn't in my mailbox",  # the status is known: what to do
    ],
)
def test_rules_leave_questions_to_the_help_centre(text: str) -> None:
    assert intents.detect(text) is None


def test_a_story_about_an_order_with_a_question_about_its_arrival_is_order_status() -> None:
    story = "I ordered a watch for my dad on Monday and his party is on Saturday."
    assert intents.asks_after_own_order("Will it make it in time?", f"{story} Will it make it in time?")
    assert not intents.asks_after_own_order("What are my options?", f"{story} What are my options?")


def test_only_a_named_person_overrides_a_question() -> None:
    assert intents.names_a_person("I need an actual human about my password")
    assert not intents.names_a_person("I need someone to explain the payment check")


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("is the Drift speaker in stock in blue?", True),
        ("can you tell me when the drift speaker in glacier blue is back", True),
        ("the Drift speaker is sold out, let me know when it's back", True),
        ("the Drift speaker is sold out, when will you have more?", False),  # they know its stock
        ("is there a way to be told when the Drift speaker is available again", False),  # how alerts work
        ("do back in stock alerts expire?", False),
    ],
)
def test_stock_questions_are_about_a_products_stock_now(text: str, asks: bool) -> None:
    assert stock.asks_about_stock(text) is asks


def test_articles_are_scored_by_their_nearest_example_or_title() -> None:
    examples = ArticleExamples({"returns": ["how do I return", "refund time"], "gone": ["an old article"]})
    unit = np.eye(4, dtype=np.float32)
    examples.matrix = unit[[0, 1, 2]]
    examples.titles = {"Returns policy": unit[3], "New article": unit[1]}
    articles = {"returns": "Returns policy", "fresh": "New article"}
    assert examples.covers(articles)
    scores = examples.scores(unit[1], articles)
    # "returns" by its second example, "fresh" (no examples yet) by its title, "gone" (not in the help centre) not
    assert scores == {"returns": 1.0, "fresh": 1.0}
    assert examples.scores(unit[3], articles)["returns"] == 1.0  # by the title
    assert not examples.covers({"other": "Unseen title"})


def test_every_example_question_belongs_to_an_article_of_the_help_centre() -> None:
    questions = load_questions()
    assert all(len(texts) >= 5 for texts in questions.values())
    assert set(questions) <= {a.slug for a in read_directory(DATA / "help")}
