"""Intents the bot recognises before it looks anything up: greeting, human (incl. anger), order status.

Patterns, not a model: each is a rule a support lead can read and adjust, and the evaluation set checks
them (`engage eval bot`). A request for a person must be a request, not a question about the team
("are your agents around on Sundays?" is a question for the knowledge base).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GREETING_WORDS = frozenset(
    """hi hello hey heya hiya howdy yo greetings hola there good morning afternoon evening day
    everyone all folks team guys how are you doing is it going thanks thank to ty thx cheers many so much
    bye goodbye have a nice good one great whats what's up sup that's thats everything hope your day's
    well hallo helo hii hiii heyy hellooo bonjour salut ciao hej thanx thnx thankyou tysm appreciate appreciated
    it that helped helpful perfect awesome""".split()
)

_SALUTATIONS = frozenset(
    "hi hello hey heya hiya howdy yo greetings hola morning afternoon evening day thanks thank ty thx cheers bye "
    "goodbye sup hallo helo hii hiii heyy hellooo bonjour salut ciao hej thanx thnx thankyou tysm appreciate "
    "appreciated".split()
)
_HOW_ARE_YOU = re.compile(r"\bhow\s+(?:are\s+you|is\s+it\s+going|are\s+things)\b", re.I)

_PEOPLE = (
    r"(?:human|humans|person|people|agent|agents|someone|somebody|representative|rep|operator|supervisor|manager|"
    # common misspellings ("humn", "representitive", "agnet")
    r"hum[ae]?n|humen|huamn|hooman|agnet|agen|agant|persn|represent[aei]t[aei]ve|representive|reprasentative|"
    r"staff|employee|colleague|colleagues|team member|member of (?:your |the )?(?:staff|team)|real person|"
    r"live (?:agent|person|chat|support)|(?:whoever|someone|somebody|anyone)\s+(?:is\s+)?in\s+charge|"
    r"cust[oa]?mer\s+(?:service|supp?ort|care)|costumer\s+service|supp?ort\s+person|service\s+desk|help\s*desk|support\s+team)"
)
# a person named as such (not "someone", which also asks for an explanation: "I need someone to explain")
_EXPLICIT_PERSON = re.compile(
    r"\b(?:human|person|agent|representative|operator|supervisor|manager|staff|employee|colleagues?|"
    r"team\s+member|in\s+charge|customer\s+(?:service|support|care)|support\s+team|live\s+agent|escalate)\b",
    re.I,
)
_REQUEST = re.compile(
    rf"\b(?:(?:talk|tlak|tak|speak|speek|spek|chat)\s+(?:to|with)|connect(?:\s+me)?|transfer\s+me|put\s+me\s+through|get\s+me|give\s+me|"
    rf"let\s+me\s+(?:talk|speak)|i\s+(?:want|wanna|need|would\s+like|'d\s+like)|i'?d\s+(?:like|prefer)|"
    rf"can\s+i\s+(?:talk|speak|get|have)|"
    rf"have\s+a\s+word\s+with|escalate|(?:hand|pass)\s+(?:this|me|it|my\s+case)\s+(?:over\s+|on\s+)?to)"
    rf"\b[^.?!]{{0,30}}?\b(?:an?\s+|the\s+|your\s+|actual\s+|real\s+)*{_PEOPLE}\b",
    re.I,
)
# "could a person help me", "can someone from your team look at this": asking for a person's help
_PERSON_TO_HELP = re.compile(
    rf"\b(?:could|can|may|would|will)\s+(?:an?\s+|some\s+|one\s+of\s+your\s+|your\s+|a\s+real\s+)*{_PEOPLE}\b"
    rf"(?:\s+from\s+[\w\s]{{0,20}}?)?\s+(?:please\s+)?(?:help|look|check|call|contact|sort|deal|handle|phone|review|"
    r"take\s+over|assist)"
    # "pls someone help me": a plea, not a question
    r"|^\W*(?:\w+\W+){0,2}?(?:someone|somebody|anybody|anyone)\s+(?:please\s+)?help\s+me\b"
    # "get one of your people to look into it", "unless a manager contacts me"
    rf"|\b(?:get|have|ask|send)\s+(?:one\s+of\s+your\s+|an?\s+|your\s+|some\s+|real\s+)*{_PEOPLE}\s+to\s+"
    r"(?:help|look|check|call|contact|sort|deal|handle|phone|fix|review|get\s+back)"
    rf"|\b{_PEOPLE}\s+(?:contacts?|calls?|phones?|rings?|emails?|gets?\s+back\s+to)\s+me\b"
    # "can this be looked at by an actual person", "could I be transferred to somebody"
    r"|\b(?:by|with|to|from)\s+(?:an?\s+)?(?:actual|real|live)\s+(?:person|human|agent|people)\b"
    rf"|\bbe\s+(?:transferred|connected|put\s+through|passed)\s+(?:over\s+)?to\s+(?:an?\s+|one\s+of\s+)?"
    rf"(?:your\s+|the\s+)?(?:{_PEOPLE}|support|customer\s+service|team)\b",
    re.I,
)
_ONLY_PEOPLE = re.compile(rf"^\W*(?:an?\s+|real\s+|actual\s+)*{_PEOPLE}\W*(?:please|pls|now)?\W*$", re.I)
# "human - refund problem", "agent please, it's about my return": a person first, then the topic
_PERSON_THEN_TOPIC = re.compile(
    r"^\W*(?:an?\s+|real\s+|actual\s+)*(?:human|person|agent|representative|operator|supervisor|manager|"
    r"customer\s+(?:service|support|care))\s*(?:please|pls|plz|now)?\s*(?:[-:,(]|\b(?:about|regarding|re|for|on)\b)",
    re.I,
)
# "anybody?", "hello, anyone there?", "is there no one who can help me?"
_ANYONE_THERE = re.compile(
    r"^\W*(?:(?:hello|hi|hey)\W+)?(?:is\s+)?(?:any\s?(?:one|body)|some\s?(?:one|body))"
    r"(?:\s+(?:there|here|around|real|at\s+all|home))*\W*$"
    r"|\bis\s+there\s+(?:no\s?one|nobody|no\s+person)\b",
    re.I,
)
# "call me back", "can somebody ring me", "I'd like a callback"
_CALL_ME = re.compile(
    r"\b(?:call|ring|phone)\s+me\s+back\b|\bcall\s?-?backs?\b|\bget\s+in\s+touch\s+with\s+me\b"
    # not "will the courier call me before delivery?", "do you call me when it ships?"
    r"|\b(?:someone|somebody|you|please|pls)\s+(?:\w+\s+)?(?:call|ring|phone)\s+(?:me|us)\b"
    r"(?!\s+(?:before|when|if|once|after|on\s+arrival)\b)"
    r"|^\W*(?:please\s+)?(?:call|ring|phone)\s+me\b",
    re.I,
)
# common words for a person in the languages shoppers fall back to (Spanish, Portuguese, French, German, Italian)
_FOREIGN_PERSON = re.compile(
    r"\b(?:humano|humana|humain|mensch|menschen|persona|pessoa|personne|operador|operadora|operatore|"
    r"atendente|mitarbeiter|hablar\s+con|falar\s+com|parler\s+(?:à|a|avec)|sprechen|parlare\s+con)\b",
    re.I,
)
_COMPLAINT = re.compile(
    r"\b(?:complain|complaint|complaining|unacceptable|ridiculous|outrageous|furious|angry|disgusted|disgusting|"
    r"scam|scammed|fraud|rip[- ]?off|worst|useless|hopeless|pathetic|horrible|terrible service|fed up|sick of|sue|lawyer|"
    r"chargeback|report you|rude|disgrace|disgraceful|appalling|livid|fuming|thief|thieves|stole|stealing|"
    r"crooks|(?:1|one)[- ]star|escalat(?:e|ion|ing))\b",
    re.I,
)
# asking whether something is a scam (a worried question, not an accusation)
_IS_IT_A_SCAM = re.compile(r"\b(?:is|was)\s+(?:this|that|it)\s+(?:a\s+|really\s+)?(?:scam|fraud)\b", re.I)

# An order number: the shop's own (EN- and 8 letters or digits, commerce.orders.placing), or letters, a dash
# and 6+ letters and digits with a digit among them (LX-208461; not a model name like XT-2000), or digits
# after "#" / "order (number)".
_ORDER_REF = re.compile(
    r"\b(?:EN-[A-Z0-9]{8}|[A-Z]{2,4}-(?=[A-Z]*\d)[A-Z0-9]{6,12}|#\s?\d{4,}|order\s+(?:number\s+|no\.?\s*)?\d{4,})\b",
    re.I,
)
_EMAIL = re.compile(r"[A-Z0-9._%+'-]+@[A-Z0-9.-]+\.[A-Z]{2,}", re.I)
_YES = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|ya|sure|ok|okay|please|please do|yes please|go ahead|do it|i would|i'd like that|"
    r"that would be great|sounds good|connect me|why not)\b[\w\s,!.']{0,40}$",
    re.I,
)
_NO = re.compile(r"^\W*(?:no|nope|nah|no thanks|no thank you|not now|i'm good|im good|all good)\b", re.I)
_MY_ORDER = re.compile(
    r"\b(?:my|our|the|this)\s+(?:\w+\s+){0,2}(?:order|package|parcel|delivery|shipment|stuff|item|items|box)\b",
    re.I,
)
_STATUS = re.compile(
    r"\b(?:where(?:'s|\s+is|\s+are)|status|shipped|dispatched|tracking\s+(?:number|info|link)|track\s+(?:it|my)|"
    r"out\s+for\s+delivery|on\s+(?:its|the)\s+way|arriv\w*|show\s+up|get\s+here|be\s+delivered|delivered\s+yet|"
    r"make\s+it\s+(?:in\s+time|by|before)|here\s+yet|(?:happening|going\s+on)\s+with|"
    r"when\s+(?:will|is|does|do|should)\b[^.?!]{0,40}\b(?:come|arrive|get|here|deliver\w*|ship\w*|show))",
    re.I,
)
_PAST_ORDER = re.compile(r"\b(?:i|we)\s+(?:ordered|bought|purchased|placed)\b|\bordered\b", re.I)
_HYPOTHETICAL = re.compile(
    r"\b(?:if\s+i\s+(?:order|buy|place)|how\s+long\s+does|usually|normally|in\s+general|"
    # "when my order arrives, do I pay duties?": the arrival is the condition, the question is another
    r"(?:when|once|after|if|before)\s+(?:my|the|an?)\s+(?:\w+\s+)?(?:order|parcel|package|delivery|box)\s+"
    r"(?:arrives|comes|gets\s+here|is\s+delivered))\b",
    re.I,
)


@dataclass(frozen=True)
class Intent:
    name: str  # greeting | human | order_status
    reason: str


def detect(text: str) -> Intent | None:
    message = " ".join(text.split())
    if not message:
        return None
    human = _human(message)
    if human:
        return Intent("human", human)
    if _is_greeting(message):
        return Intent("greeting", "greeting")
    if _is_order_status(message):
        return Intent("order_status", "order status")
    return None


# "no more robot", "enough of this bot", "I'm done with the chatbot": the shopper wants a person
_NO_BOT = re.compile(
    r"\b(?:no\s+more|not\s+(?:a|another|the|this)|stop|enough|done|quit|sick\s+of|tired\s+of|hate|"
    r"(?:don'?t|do\s+not)\s+(?:want|wish))\b"
    r"[^.?!]{0,30}?\b(?:bot|bots|robot|robots|chatbot|machine|automated\s+\w+|ai|assistant)\b",
    re.I,
)
# "escalate this to your team", "please escalate my case": a demand that a person takes it on
_ESCALATE = re.compile(
    r"\bescalate\s+(?:this|it|that|my\s+(?:case|complaint|issue|problem|ticket|query))\b", re.I
)
_SENTENCES = re.compile(r"[.!?;\n]+")
# frustration with the bot itself: "you're not helping", "that's not what I asked", "stop sending me links"
_FED_UP_WITH_BOT = re.compile(
    r"\byou(?:'re|\s+are)?\s+(?:not|n't|never)\s+(?:helping|listening|understanding|reading|getting\s+it)\b"
    r"|\byou\s+(?:\w+ly\s+)?(?:don'?t|do\s+not|can'?t|cannot|never)\s+(?:understand|get\s+it|listen|read|help)\b"
    r"|\bnothing\s+(?:you\s+\w+\s+)?(?:helps|is\s+helping)\b|\bgive\s+up\s+on\s+(?:this|you)\b"
    r"|\bare\s+you\s+(?:even\s+)?(?:reading|listening)\b"
    r"|\b(?:that'?s|thats|this\s+is|it'?s)\s+not\s+what\s+i\s+(?:asked|said|meant|wrote)\b"
    r"|\b(?:going|getting)\s+nowhere\b|\bgoing\s+(?:round\s+)?in\s+circles\b"
    r"|\b(?:stop|quit)\s+(?:giving|sending|showing)\s+me\s+(?:\w+\s+)?(?:links?|articles?|pages?|answers?)\b"
    r"|\b(?:the\s+)?same\s+(?:\w+\s+)?(?:link|article|page|answer|reply)\s+(?:again|over)\b"
    r"|\bkeep\s+(?:sending|giving|showing)\s+me\s+the\s+same\b"
    r"|\bwaste\s+of\s+(?:my\s+)?time\b|\bfrustrat(?:ed|ing)\b|\blosing\s+(?:my\s+)?patience\b"
    r"|\b(?:explained|asked|said|told\s+you)\s+(?:this|that|it)?\s*(?:\w+\s+)?(?:times|twice)\b",
    re.I,
)


# "when can I chat with an agent, what hours?": a question about support hours (an article), not a request
_ASKS_HOURS = re.compile(
    r"\b(?:(?:what|which)\s+(?:hours|times?|days)|opening\s+hours|hours|open|available\s+(?:on|at|during))\b",
    re.I,
)


def _human(message: str) -> str | None:
    sentences = [s for s in _SENTENCES.split(message) if s.strip()]
    about_hours = "?" in message and _ASKS_HOURS.search(message) is not None
    if (
        any(_ONLY_PEOPLE.match(s) for s in sentences)
        or (not about_hours and (_REQUEST.search(message) or _PERSON_TO_HELP.search(message)))
        or _NO_BOT.search(message)
        or _ESCALATE.search(message)
        or _PERSON_THEN_TOPIC.search(message)
        or _ANYONE_THERE.search(message)
        or _CALL_ME.search(message)
        or _FOREIGN_PERSON.search(message)
    ):
        return "asked for a person"
    if (
        _COMPLAINT.search(_IS_IT_A_SCAM.sub(" ", message))
        or _FED_UP_WITH_BOT.search(message)
        or _shouting(message)
    ):
        return "complaint or frustration"
    return None


def names_a_person(text: str) -> bool:
    """A request for a person that names one (an agent, a manager, a human...), not only "someone"."""
    message = " ".join(text.split())
    return _human(message) == "asked for a person" and _EXPLICIT_PERSON.search(message) is not None


def _shouting(message: str) -> bool:
    """Several words in capitals (not one for emphasis, not acronyms), or a row of exclamation marks."""
    letters = re.findall(r"[A-Za-z]{3,}", message)
    capitals = [w for w in letters if w.isupper() and len(w) > 3]
    return (len(capitals) >= 2 and len(capitals) >= len(letters) // 3) or "!!!" in message


def _is_greeting(message: str) -> bool:
    """Only greeting words, and a greeting among them ("is it good?" is not a greeting)."""
    words = re.findall(r"[a-z']+", message.lower())
    return (
        bool(words)
        and len(words) <= 8
        and all(w in GREETING_WORDS for w in words)
        and (bool(set(words) & _SALUTATIONS) or _HOW_ARE_YOU.search(message) is not None)
    )


def _is_order_status(message: str) -> bool:
    if _HYPOTHETICAL.search(message) or not_a_lookup(message):
        return False
    if _ORDER_REF.search(message):
        return True
    if not _STATUS.search(message):
        return False
    return bool(
        _MY_ORDER.search(message)
        or _PAST_ORDER.search(message)
        or re.search(r"\bmy\s+order\b", message, re.I)
    )


def asks_after_own_order(question: str, message: str) -> bool:
    """A long message whose question asks where something is or when it comes ("will it make it in time?")
    and whose story says the shopper ordered it ("I ordered her a scarf last week"): their order's status."""
    if _HYPOTHETICAL.search(question) or not _STATUS.search(question):
        return False
    return bool(_MY_ORDER.search(message) or _PAST_ORDER.search(message))


_WHAT_IT_MEANS = re.compile(
    r"\b(?:what\s+(?:does|do|is)\b[^.?!]{0,60}\bmean|what\s+is\s+meant\s+by|meaning\s+of)\b", re.I
)


def asks_what_it_means(text: str) -> bool:
    """A question about what a word or status means ("what does 'label created' mean?"), not about an order."""
    return _WHAT_IT_MEANS.search(text) is not None


# "the tracking shows delivered but it isn't here": the status is known; what to do is the help centre's
_SAYS_DELIVERED = re.compile(
    r"\b(?:says|say|said|shows|showed|showing|marked|claims|status\s+is)\s+(?:as\s+|it\s+(?:was|is)\s+|it'?s\s+)?"
    r"delivered\b",
    re.I,
)


def says_delivered(text: str) -> bool:
    return _SAYS_DELIVERED.search(text) is not None


# "if I order it at 1pm, could it be here Friday?": an order not placed yet
_IF_I_ORDER = re.compile(r"\bif\s+(?:i|we)\s+(?:order|buy|place|purchase)\b", re.I)


# "returned my order, when do I get the money?": the refund's timing is the help centre's
_ABOUT_MONEY = re.compile(r"\b(?:refund\w*|money|reimburs\w*)\b", re.I)


def not_a_lookup(text: str) -> bool:
    """Mentions an order but asks something an order lookup does not answer: what a status means, what to
    do when tracking says delivered, when an order not placed yet would come, or about a refund."""
    return any(
        check(text) for check in (asks_what_it_means, says_delivered, _IF_I_ORDER.search, _ABOUT_MONEY.search)
    )


# Another company's account, subscription, order or service, named ("cancel my Netflix", "my Amazon order is
# late", "reset my Gmail password"): not the shop's business, however much it sounds like it. The backstop to
# the out-of-scope examples (intent_examples.yaml), which recognise such questions by meaning. Not payment
# methods or carriers the shop itself uses (Apple Pay, Google Pay, PayPal checkout, DHL), and not a price
# comparison ("do you price match Amazon?": the shop's price-adjustment policy).
_OTHER_COMPANY = re.compile(
    r"\b(?:netflix|amazon(?!\s*pay)|prime\s+video|gmail|google\s+(?:play|drive|photos|one|docs|fi|nest)|"
    r"youtube|apple\s+(?:id|music|tv|one|store|support)|icloud|itunes|app\s+store|outlook\s+(?:account|email|mail|inbox|password)|hotmail|yahoo|"
    r"microsoft|xbox|playstation|psn|nintendo|steam\s+(?:account|library|wallet|game|games|sale)|spotify|disney\s*(?:\+|plus)|hulu|hbo|ebay|etsy|walmart|"
    r"ikea|zalando|asos|shein|temu|aliexpress|wish\s+(?:order|app|parcel|package)|costco|tesco|argos|"
    r"zara|h&m|uniqlo|primark|boohoo|lidl|aldi|asda|sainsbury'?s|waitrose|ocado|kroger|wayfair|currys|"
    r"john\s+lewis|home\s+depot|sephora|flipkart|shopee|lazada|rakuten|alibaba|vinted|depop|poshmark|mercari|"
    r"hellofresh|instacart|postmates|adobe|canva|audible|dropbox|peacock|paramount\s*(?:\+|plus)|"
    r"crunchyroll|twitch|discord|reddit|duolingo|tinder|revolut|monzo|coinbase|binance|robinhood|"
    r"virgin\s+media|xfinity|directv|"
    r"best\s+buy|facebook|instagram|whatsapp|tiktok|snapchat|linkedin|twitter|uber(?:\s+eats)?|lyft|"
    r"deliveroo|doordash|just\s+eat|grubhub|airbnb|booking\.com|expedia|ryanair|easyjet|ticketmaster|"
    r"vodafone|verizon|t-mobile|comcast|paypal\s+(?:account|password|login)|venmo|cash\s+app|"
    r"nike\s+(?:store|app|website|order)|adidas\s+(?:store|app|website|order))\b",
    re.I,
)
_COMPARES = re.compile(
    r"\b(?:price[- ]?match\w*|match\w*|cheaper|lower\s+price|same\s+price|competitor\w*|than|compared?|"
    r"similar|versus|vs|(?:sized?|sizing|fits?|runs?|same)\s+(?:\w+\s+)?(?:like|as))\b",
    re.I,
)


def about_another_company(text: str) -> bool:
    """The message names another company's service or account and is not comparing the shop's price to it."""
    return _OTHER_COMPANY.search(text) is not None and _COMPARES.search(text) is None


def email_in(text: str) -> str | None:
    match = _EMAIL.search(text)
    return match.group(0) if match else None


def answer_to_offer(text: str) -> bool | None:
    """A reply to "would you like a person?": True (yes), False (no), None (something else)."""
    message = " ".join(text.split())
    if _NO.match(message):
        return False
    if _YES.match(message):
        return True
    return None


def is_thanks(text: str) -> bool:
    return re.search(r"\bthank", text, re.I) is not None


def order_reference(text: str) -> str | None:
    match = _ORDER_REF.search(text)
    if not match:
        return None
    return re.sub(r"^(?:order\s+(?:number\s+|no\.?\s*)?|#\s?)", "", match.group(0), flags=re.I).upper()
