"""The rules behind the bot's intents and stock questions, and the article examples' scoring (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from bots.support import intents, stock
from bots.support.article_examples import ArticleExamples, load_questions
from bots.support.intent_bank import load_examples
from bots.support.knowledge import read_directory
from bots.support.scope import ShopVocabulary, another_party
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
        ("can this be looked at by an actual person", "human"),
        ("could I be transferred to someone in customer service?", "human"),
        ("Can you hand this over to a colleague?", "human"),
        ("I do not wish to continue with the assistant", "human"),
        ("hallo", "greeting"),
        ("thanks so much, that helped", "greeting"),
        # frustration with the bot itself, and misspelt names of a person
        ("you're not listening to me", "human"),
        ("honestly this is getting nowhere", "human"),
        ("please escalate my case", "human"),
        ("i want to talk to a humn", "human"),
        # contractions: "I'd like", "id like", "wanna"
        ("I'd like to raise this with a real person", "human"),
        ("id prefer to sort it out with your staff", "human"),
        ("i wanna speak to the manager", "human"),
        # a person first, then the topic; anyone there at all; a callback; other languages; typos
        ("operator: my order never came", "human"),
        ("agent pls re a missing refund", "human"),
        ("hello, anybody there?", "human"),
        ("is there nobody there to help", "human"),
        ("could you ring me back this afternoon", "human"),
        ("please arrange a call-back", "human"),
        ("hablar con un operador", "human"),
        ("falar com uma pessoa por favor", "human"),
        ("Mitarbeiter bitte", "human"),
        ("i want speek with custmer suport", "human"),
        ("connect to an agant", "human"),
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
        "if I order at 1pm today, could it arrive by Friday?",  # an order not placed yet
        "I returned my order last week, when do I get my money?",  # a refund: the help centre
        "are your live agents around on sundays?",  # support hours
        "will the driver phone me before delivering?",  # the courier, not a person from the shop
        "can someone else collect my parcel for me?",  # another person, not a request for one
        "is there a per person limit in a flash sale?",
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


def test_articles_are_scored_by_their_two_nearest_examples_or_title() -> None:
    examples = ArticleExamples({"returns": ["how do I return", "refund time"], "gone": ["an old article"]})
    unit = np.eye(4, dtype=np.float32)
    examples.matrix = unit[[0, 1, 2]]
    examples.titles = {"Returns policy": unit[3], "New article": unit[1]}
    articles = {"returns": "Returns policy", "fresh": "New article"}
    assert examples.covers(articles)
    scores = examples.scores(unit[1], articles)
    # "returns" by its two nearest (an example at 1.0, another at 0.0), "fresh" (no examples yet) by its title
    # alone, "gone" (not in the help centre) not at all
    assert scores == {"returns": 0.5, "fresh": 1.0}
    assert examples.scores((unit[0] + unit[3]) / np.sqrt(2), articles)["returns"] == pytest.approx(
        np.sqrt(0.5)
    )
    assert not examples.covers({"other": "Unseen title"})


def test_every_example_question_belongs_to_an_article_of_the_help_centre() -> None:
    questions = load_questions()
    assert all(len(texts) >= 5 for texts in questions.values())
    assert set(questions) <= {a.slug for a in read_directory(DATA / "help")}


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("my Walmart delivery never showed up", True),
        ("I need my Instagram password reset", True),
        ("how do I stop my Disney Plus subscription", True),
        ("do you price match Walmart?", False),  # the shop's own price-adjustment policy
        ("can I pay with Apple Pay or Google Pay", False),  # payment methods the shop takes
        ("I paid with PayPal, where is my refund?", False),
        ("my Steam account was hacked", True),
        ("the steam iron I bought stopped heating, is it under warranty?", False),  # a product, not a brand
        ("what's the outlook for my delivery?", False),
    ],
)
def test_another_companys_service_is_recognised(text: str, other: bool) -> None:
    assert intents.about_another_company(text) is other


def _shop_vocabulary() -> ShopVocabulary:
    articles = [a.title + " " + a.body for a in read_directory(DATA / "help")]
    questions = [q for texts in load_questions().values() for q in texts]
    return ShopVocabulary(articles + questions + load_examples()["order_status"])


@pytest.mark.parametrize(
    ("text", "party"),
    [
        # companies no list names: words the shop never uses in a place that says whose business it is
        ("my Jumia order is a week late", "Jumia"),
        ("how do I cancel my Babbel", "Babbel"),
        ("I want a refund from Vueling for my seat", "Vueling"),
        ("Tripadeal charged me twice", "Tripadeal"),
        # written as names, even when the dictionary has the word: famous names are in it too
        ("my Asda order never came", "Asda"),
        ("how do I change the card on my Spotify", "Spotify"),
        ("the Marks & Spencer parcel is missing a shirt", "Marks & Spencer"),
        ("why is my Target order late", "Target"),
        # a capital that names a day, a month or a season, or starts the sentence, is no company
        ("my Black Friday order is late", None),
        ("is my December delivery on its way", None),
        ("Order number please, my parcel is late", None),
        # the shop's own business, and companies its help centre names
        ("my order is a week late", None),
        ("I paid with PayPal and want my refund", None),
        ("how long is delivery to Reykjavik", None),
        ("cancel my order", None),
        ("I forgot my acount password", None),  # misspelt, not a name
        # a question about the shop itself, however it names someone else
        ("do you ship to Reykjavik?", None),
    ],
)
def test_another_party_is_a_name_the_shop_never_uses(text: str, party: str | None) -> None:
    assert another_party(text, _shop_vocabulary()) == party


def test_the_shop_words_of_a_message_leave_out_the_rest() -> None:
    vocabulary = _shop_vocabulary()
    assert (
        vocabulary.shop_words_only("where is my order EN-7KQ3M9PX") == "where is my order EN-7KQ3M9PX"
    )  # all the shop's
    assert vocabulary.shop_words_only("my landlord won't return my deposit") == "my won't return my"
