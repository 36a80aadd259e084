"""What a customer's message asks for, decided without a model: the intent, its slots (order
references, product terms, a quantity, a return reason) and flags (an injection attempt, an
angry tone, abuse).

The embedded model is too small to pick tools reliably, so this layer decides which tools run
(guided mode) and, in every mode, which deterministic rules apply (hand-over, confirmation).
Keyword and phrase rules over normalised text, tolerant of casing and of one-letter typos in the
words that matter; nothing here is learnt, so every decision is reproducible and unit-tested.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from agora.platform.errors import FieldViolation
from agora.platform.kernel.checks import raise_if_any, text_violations

# A customer's message, in characters: a long complaint fits, a pasted document does not.
MAX_MESSAGE_CHARS = 2000
# The shortest order-id prefix taken as a reference (16^6 ids: unambiguous among one
# customer's orders).
MIN_ORDER_PREFIX = 6
MAX_ORDER_REFS = 5
MAX_PRODUCT_TERMS = 8
MAX_REASON_CHARS = 300
MAX_QUANTITY = 99


class Intent(StrEnum):
    ORDER_STATUS = "order_status"
    MY_ORDERS = "my_orders"
    CANCEL_ORDER = "cancel_order"
    RETURN = "return"
    PRODUCT_SEARCH = "product_search"
    RECOMMENDATIONS = "recommendations"
    HANDOVER = "handover"
    # A change the assistant cannot make (the delivery address, the items, the payment): it
    # says so and offers a person.
    ORDER_CHANGE = "order_change"
    CONFIRM = "confirm"
    DECLINE = "decline"
    GREETING = "greeting"
    THANKS = "thanks"
    OFF_TOPIC = "off_topic"
    ABUSE = "abuse"
    # Nothing recognised: the assistant says so and offers a person.
    UNKNOWN = "unknown"


# Intents that make the assistant act on the shop's data.
ACTIONABLE = frozenset(
    {
        Intent.ORDER_STATUS,
        Intent.MY_ORDERS,
        Intent.CANCEL_ORDER,
        Intent.RETURN,
        Intent.PRODUCT_SEARCH,
        Intent.RECOMMENDATIONS,
    }
)


@dataclass(frozen=True)
class Understanding:
    """One message, understood. `confidence` is in [0, 1]; `order_refs` are lower-case full
    order ids or id prefixes exactly as the customer wrote them; `product_terms` is a search
    query made of the customer's own content words."""

    intent: Intent
    confidence: float
    order_refs: tuple[str, ...] = ()
    product_terms: str = ""
    quantity: int | None = None
    reason: str = ""
    injection: bool = False
    angry: bool = False
    abusive: bool = False
    corrected: tuple[str, ...] = ()  # words read through a typo ("cancle" -> "cancel")
    latest: bool = False  # "my last order": the newest order is meant
    refers_back: bool = False  # "it", "that one": what the conversation was just about

    @property
    def order_ref(self) -> str | None:
        """The first order the message names, if any."""
        return self.order_refs[0] if self.order_refs else None


def check_message(text: str) -> str:
    """`text` stripped, or INVALID_ARGUMENT (field `text`) when it is empty, longer than
    MAX_MESSAGE_CHARS, or holds a NUL or another control character."""
    violations = text_violations(text, "text", max_len=MAX_MESSAGE_CHARS, required=True)
    if not violations and any(_is_control(c) for c in text):
        violations = [FieldViolation("text", "must not contain control characters")]
    raise_if_any(violations)
    return text.strip()


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc" and char not in "\n\r\t"


# --- normalisation ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_HEX_TOKEN = re.compile(rf"(#?)\b([0-9a-f]{{{MIN_ORDER_PREFIX},32}})\b")
_ORDER_WORD_BEFORE = re.compile(r"(?:order|no\.?|nr\.?|number|ref|reference|id)\s*[:#]?\s*$")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _normalise(text: str) -> str:
    """Case-folded NFKC text with one kind of apostrophe and single spaces."""
    folded = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    return " ".join(folded.split())


def _order_refs(text: str) -> tuple[list[str], str]:
    """The order references in normalised `text`, in the order written, and the text without
    them."""
    found = [(match.start(), match.group(0)) for match in _UUID.finditer(text)]
    # Same length: the positions of the hex tokens below stay those of `text`.
    rest = _UUID.sub(lambda match: " " * len(match.group(0)), text)
    kept: list[str] = []
    position = 0
    for match in _HEX_TOKEN.finditer(rest):
        token = match.group(2)
        has_digit = any(c.isdigit() for c in token)
        has_letter = any(c.isalpha() for c in token)
        named = bool(match.group(1)) or bool(_ORDER_WORD_BEFORE.search(rest[: match.start()]))
        # "deadbeef" is a word, "12345678" a phone number, unless the customer says "order".
        if (has_digit and has_letter) or (named and has_digit):
            found.append((match.start(), _hyphenated(token)))
            kept.append(rest[position : match.start()])
            position = match.end()
    kept.append(rest[position:])
    refs = [ref for _, ref in sorted(found)]
    unique = list(dict.fromkeys(refs))[:MAX_ORDER_REFS]
    return unique, " ".join("".join(kept).split())


def find_order_refs(text: str) -> tuple[str, ...]:
    """The order references in `text`: full ids or id prefixes, lower case, in order."""
    return tuple(_order_refs(_normalise(text[:MAX_MESSAGE_CHARS]))[0])


def _hyphenated(token: str) -> str:
    """A 32-digit id written without hyphens, in its usual form; a prefix unchanged."""
    if len(token) != 32:
        return token
    return f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:]}"


# --- typo tolerance --------------------------------------------------------------------------

# The words decisions hinge on; a one-letter slip in one of these is read as the word.
_KEYWORDS = (
    "cancel", "cancellation", "order", "orders", "status", "return", "refund", "tracking",
    "track", "delivery", "delivered", "shipped", "shipping", "shipment", "package", "parcel",
    "recommend", "recommendation", "recommendations", "suggest", "suggestion", "similar",
    "search", "human", "representative", "operator", "supervisor", "person", "hello",
    "thanks", "confirm", "arrive", "arrived", "where", "exchange", "damaged", "broken",
    "defective", "available",
)  # fmt: skip
_KEYWORD_SET = frozenset(_KEYWORDS)
# Real words one letter away from a keyword, never "corrected" into it.
_NEAR_KEYWORDS = frozenset(
    {
        "older", "border", "other", "there", "here", "were", "person", "persons", "track",
        "tracks", "trick", "racking", "status", "statue", "states", "return", "returns",
        "returned", "hell", "help", "helps", "held", "hollow", "thank", "thinks", "shopped",
        "shipper", "sipped", "chipped", "ordered", "orderly", "human", "humane", "humans",
        "refund", "refunds", "refunded", "confirm", "conform", "arrive", "arrives", "derive",
        "search", "searches", "broke", "broker", "damage", "package", "packages", "packaged",
        "cancer", "cancels", "cancelled", "canceled", "delivery", "deliver", "delivers",
        "recommended", "suggests", "suggested", "similarly", "availability", "where's",
        "whereas", "wherever",
    }
)  # fmt: skip


def _within_one_edit(word: str, keyword: str) -> bool:
    """True when `word` is `keyword` with one letter inserted, deleted, replaced, or two
    neighbours swapped (Damerau-Levenshtein distance 1)."""
    if word == keyword or abs(len(word) - len(keyword)) > 1:
        return False
    if len(word) == len(keyword):
        diffs = [i for i, (a, b) in enumerate(zip(word, keyword, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        first, second = diffs[0], diffs[-1]
        return (
            len(diffs) == 2
            and second == first + 1
            and word[first] == keyword[second]
            and word[second] == keyword[first]
        )
    shorter, longer = sorted((word, keyword), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _corrected(word: str) -> str | None:
    """The keyword `word` is a typo of, if any (words of 4+ letters only)."""
    if len(word) < 4 or word in _KEYWORD_SET or word in _NEAR_KEYWORDS or not word.isalpha():
        return None
    # Ties ("ordes": order or orders) go to the first keyword listed.
    return next((k for k in _KEYWORDS if _within_one_edit(word, k)), None)


def _with_typos_corrected(text: str) -> tuple[str, tuple[str, ...]]:
    corrections: list[str] = []

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        keyword = _corrected(word)
        if keyword is None:
            return word
        corrections.append(f"{word}->{keyword}")
        return keyword

    return _WORD.sub(fix, text), tuple(corrections)


# --- the rules -------------------------------------------------------------------------------

STRONG = 0.9
WEAK = 0.7
GUESS = 0.2  # nothing recognised

# Per intent, (pattern, score): the highest-scoring match counts. Patterns run on normalised,
# typo-corrected text from which the order references were removed.
_RULES: Mapping[Intent, tuple[tuple[str, float], ...]] = {
    Intent.HANDOVER: (
        (r"\b(human|representative|operator|supervisor|manager|real person|live agent)\b",
         STRONG),
        (r"\b(talk|speak|chat|connect|transfer|put)\b.{0,30}\b(person|someone|somebody|agent"
         r"|staff|team|support|people|customer service)\b", STRONG),
        (r"\bhand (me )?over\b|\bcustomer service\b|\bsupport team\b", WEAK),
    ),
    Intent.ORDER_CHANGE: (
        (r"\b(change|update|correct|fix|edit|modify|amend)\b.{0,40}\b(address|postcode|post code"
         r"|zip code|street|house number)\b", STRONG),
        (r"\b(wrong|new|different|another|other) (delivery |shipping |postal )?address\b", STRONG),
        (r"\b(change|edit|modify|amend)\b.{0,15}\b(my|the|this|that) order\b(?!s)"
         r"|\b(add|remove)\b.{0,30}\b(to|from) (my|the|this|that) order\b(?!s)"
         r"|\b(change|update)\b.{0,20}\bpayment method\b", STRONG),
    ),
    Intent.CANCEL_ORDER: (
        (r"\b(cancel|cancellation|cancelling|canceling|call off|annul)\b", STRONG),
        (r"\b(don'?t|do not) want (it|this|that|the order|my order|this order|that order"
         r"|order)( anymore| any more)?\b", WEAK),
        # "I don't want order 1a2b3c4d anymore": the reference is gone from the text.
        (r"\b(don'?t|do not|no longer) want\b.{0,20}\b(anymore|any more)\b", WEAK),
        (r"\bstop (my|the|this) order\b", WEAK),
    ),
    Intent.RETURN: (
        (r"\b(return|returning|refund|exchange|send\b.{0,25}\bback|give (it|them) back)\b",
         STRONG),
        (r"\b(broken|damaged|defective|faulty|doesn'?t fit|does not fit|wrong size"
         r"|not as described|money back)\b", WEAK),
    ),
    Intent.ORDER_STATUS: (
        (r"\bwhere('?s| is| are)\b.{0,30}\b(order|package|parcel|delivery|shipment|stuff"
         r"|things|purchase)\b", STRONG),
        (r"\b(order|delivery|shipping|shipment|package|parcel) status\b|\bstatus of\b", STRONG),
        (r"\b(track|tracking)\b", STRONG),
        (r"\b(show|see|check|look up|lookup|details of|info on|news on|update on)\b.{0,15}"
         r"\border\b(?!s)", STRONG),
        (r"\b(when|has|have|did|is|was)\b.{0,40}\b(arrive|arrived|ship|shipped|deliver"
         r"|delivered|dispatched|sent|get here|come)\b", STRONG),
        (r"\b(status|shipped|delivery|delivered|arrive|arrived|late|delayed|eta"
         r"|dispatched)\b", WEAK),
        # "where is 1a2b3c4d?", "where is it?": the reference is gone from the text.
        (r"^where('?s| is| are)\b", WEAK),
    ),
    Intent.MY_ORDERS: (
        (r"\b(my|all|recent|past|previous|last|list|show)\b.{0,20}\borders\b", STRONG),
        (r"\border history\b|\bwhat (did|have) i (order|ordered|buy|bought)\b"
         r"|\bpast purchases\b", STRONG),
        (r"\borders\b", WEAK),
    ),
    Intent.RECOMMENDATIONS: (
        (r"\b(recommend|recommendation|recommendations|suggest|suggestion|suggestions)\b",
         STRONG),
        (r"\b(goes|go|going|pair|pairs) (well )?with\b|\bsimilar\b|\balso bought\b"
         r"|\bwhat else\b|\bgift ideas?\b|\bsomething like\b", STRONG),
        (r"\bideas?\b|\bmatch(es|ing)?\b", WEAK),
    ),
    Intent.PRODUCT_SEARCH: (
        (r"\b(do|does|did) you (have|sell|carry|stock)\b|\blooking for\b|\bsearch"
         r"( for)?\b|\bi('?m| am) after\b", STRONG),
        (r"\b(in stock|available|price of|how much (is|are|does|do)|buy|sell|sells"
         r"|have any|can i (get|have|order)|show me|find (me )?(a|an|some))\b", WEAK),
    ),
    Intent.CONFIRM: (
        (r"^(yes|yeah|yep|yup|sure|ok|okay|confirm|confirmed|correct|y|please do|do it"
         r"|go ahead|absolutely|of course|right)\b", STRONG),
        (r"\b(yes|confirm|go ahead|do it|please do)\b", WEAK),
    ),
    Intent.DECLINE: (
        (r"^(no|nope|nah|n|never mind|nevermind|stop|don'?t|do not|not now|keep it"
         r"|leave it)\b", STRONG),
        (r"\b(changed my mind|don'?t cancel|do not cancel|never mind|no thanks|no thank you"
         r"|keep (it|the order)|don'?t do)\b", STRONG),
        (r"\b(no|nope|don'?t|do not)\b", WEAK),
    ),
    Intent.GREETING: (
        (r"^(hi|hello|hey|hiya|hallo|good (morning|afternoon|evening)|greetings"
         r"|howdy)\b", STRONG),
    ),
    Intent.THANKS: (
        (r"\b(thanks|thank you|thx|ty|cheers|much appreciated|bye|goodbye)\b", STRONG),
    ),
    Intent.OFF_TOPIC: (
        (r"\b(weather|joke|poem|song|story|politics|president|election|football|soccer"
         r"|recipe|homework|math|capital of|meaning of life|movie|bitcoin price|stock market"
         r"|write (me )?(a|some) (code|program|essay|letter)|python|javascript"
         r"|translate)\b", STRONG),
        (r"\b(who|what) are you\b|\bare you (a |an )?(bot|robot|ai|human)\b", WEAK),
    ),
}  # fmt: skip

# When several intents match, the first in this order wins.
_PRIORITY = (
    Intent.HANDOVER,
    Intent.ORDER_CHANGE,
    Intent.CANCEL_ORDER,
    Intent.RETURN,
    Intent.ORDER_STATUS,
    Intent.MY_ORDERS,
    Intent.RECOMMENDATIONS,
    Intent.PRODUCT_SEARCH,
    Intent.OFF_TOPIC,
    Intent.GREETING,
    Intent.THANKS,
)
# Pairs that often come together and do not make a message ambiguous.
_COMPATIBLE = frozenset(
    {
        frozenset({Intent.ORDER_STATUS, Intent.MY_ORDERS}),
        frozenset({Intent.RECOMMENDATIONS, Intent.PRODUCT_SEARCH}),
        frozenset({Intent.CANCEL_ORDER, Intent.ORDER_STATUS}),
        frozenset({Intent.RETURN, Intent.ORDER_STATUS}),
    }
)
AMBIGUITY_PENALTY = 0.25
TYPO_PENALTY = 0.05

_COMPILED = {
    intent: tuple((re.compile(pattern), score) for pattern, score in rules)
    for intent, rules in _RULES.items()
}

# Attempts to change the assistant's rules or identity, or to reach other people's data.
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass|skip)\b.{0,30}\b(rules?|instructions?"
    r"|prompts?|guidelines|polic(y|ies)|restrictions|directives|programming|guardrails)\b"
    r"|\bsystem prompt\b|\byour (instructions|prompt|rules)\b|\bdeveloper mode\b|\bjailbreak"
    r"|\bdan mode\b|\byou are now\b|\bfrom now on,? you\b|\bnew instructions\b"
    r"|\b(act|pretend|behave|roleplay)\b.{0,15}\b(as|to be|you are)\b.{0,15}\b(admin"
    r"|administrator|developer|system|staff|root|employee|support agent|manager)\b"
    r"|\bi('?m| am) (the |an? )?(admin|administrator|developer|staff|employee|owner|ceo"
    r"|support agent)\b|\bsudo\b|\badmin (mode|access|rights)\b"
    r"|\b(another|other|different) (customer|user|person|account)('?s)?\b"
    r"|\b(someone|somebody) else'?s?\b|\ball (the )?(orders|customers|users)\b"
    r"|\bevery (order|customer|user)\b|\b(customer|user|account) ?id\b"
    r"|<\|[a-z_]*\|?>|\[/?inst\]|<</?sys>>|###\s*(system|instruction)|\brole\s*:\s*system\b"
)
_ABUSE = re.compile(
    r"\b(idiot|idiots|stupid|dumb|moron|morons|imbecile|useless (bot|piece|machine|garbage"
    r"|trash)|shut up|f+u+c+k+ (you|off|u)|screw you|bitch|asshole|bastard|retard"
    r"|piece of (shit|crap|garbage|trash)|go to hell)\b"
)
_ANGRY = re.compile(
    r"\b(angry|furious|livid|outraged|ridiculous|unacceptable|outrageous|disgusting"
    r"|terrible|horrible|worst|awful|pathetic|scam|scammers?|fraud|lawyers?|sue"
    r"|fed up|sick (of|and tired)|never again|wtf|incompetent|joke of a|rip ?off)\b"
)
# Swear words say anger at the shop only when aimed at it ("your damn service", "this shop is
# crap", "damn you") or piled up; "damn, I forgot my order number" curses the situation.
_PROFANITY = r"(?:damn\w*|goddamn\w*|hell|f+u+c+k+\w*|shit\w*|crap\w*|bullshit|bloody|effing)"
_PROFANITIES = re.compile(rf"\b{_PROFANITY}\b")
_AT_SHOP = (
    r"(?:you|u|ya|your|ur|you guys|you people|shop|store|company|service|staff|support|team"
    r"|bot|site|website|app|courier)"
)
_AIMED_PROFANITY = re.compile(
    rf"\b(?:this|that|these|those|your|ur)\s+{_PROFANITY}\b"  # "this damn shop"
    rf"|\b{_PROFANITY}\s+(?:you|u|ya)\b"  # "damn you"
    rf"|\b{_AT_SHOP}\b(?:\W+\w+){{0,2}}?\W+{_PROFANITY}\b"  # "your service is shit"
    rf"|\b(?:this|that|it)('s| is) (?:total |such |utter |complete )?(?:a )?{_PROFANITY}\b"
)
_LATEST = re.compile(
    r"\b(last|latest|newest|most recent|recent|previous)\s+(order|package|parcel|delivery"
    r"|purchase|shipment)\b(?!s)"
)
_REFERS_BACK = re.compile(r"\b(it|this|that|this one|that one|them|these|those)\b")
_QUANTITY_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a pair of": 2, "a couple of": 2,
}  # fmt: skip
_QUANTITY = re.compile(
    r"\b(\d{1,2}|" + "|".join(sorted(_QUANTITY_WORDS, key=len, reverse=True)) + r")\b"
    r"\s*(x\b|pcs\b|pieces\b|items?\b|units?\b|of\b|more\b)?"
)
_REASON = re.compile(
    r"\b(?:because|since|as it|as they|reason(?: is)?:?|the problem is)\s+(.+)$"
    r"|\b(broken|damaged|defective|faulty|doesn'?t fit|does not fit|wrong size|too (?:big|small)"
    r"|not as described|arrived late|changed my mind|wrong (?:item|colou?r|product))\b"
)

# Words that carry no product meaning: removed to leave the product terms.
_STOPWORDS = frozenset(
    """a about above after again all also am an and any anything are as at be been being both but
    by can could did do does doing don't for from get got had has have having he her here hers
    him his how i i'd i'll i'm i've if in into is it it's its just let me mine more most my
    myself no nor not now of off on once only or other our ours out over own please same she
    should so some something such than that the their them then there these they this those
    through to too under until up very want wanted was we were what when where which while who
    whom why will with would you your yours one two three four five six seven eight nine ten
    hi hello hey thanks thank need needs looking look find search searching show tell know like
    would love buy get sell sells selling carry stock stocked available price cost much many
    recommend recommendation recommendations suggest suggestion suggestions similar goes go
    going pair pairs match matches matching else also bought gift idea ideas shop store
    something anything good nice best new item items product products thing things really
    maybe possibly kind sort type some any which you're we're there's what's ok okay well still
    x pcs pieces units unit have has possible stuff number asap ordered purchased where's
    when's how's yet already today tomorrow soon""".split()  # noqa: SIM905 (a word list reads as text)
)


def understand(
    message: str, *, awaiting_confirmation: bool = False, asked_which_order: Intent | None = None
) -> Understanding:
    """The intent, slots and flags of `message` (already checked by `check_message`; longer
    text is read up to MAX_MESSAGE_CHARS). With `awaiting_confirmation`, a yes or no answers
    the pending question; otherwise it is an intent like any other. With `asked_which_order`
    (the intent of the assistant's "which order?" just before), a message that names an order
    and asks nothing else answers that question: it has that intent."""
    text = _normalise(message[:MAX_MESSAGE_CHARS])
    refs, without_refs = _order_refs(text)
    corrected_text, corrections = _with_typos_corrected(without_refs)
    scores = _scores(corrected_text)
    abusive = bool(_ABUSE.search(corrected_text))
    angry = abusive or _sounds_angry(message, corrected_text)
    intent, confidence = _decide(scores, bool(refs), awaiting_confirmation=awaiting_confirmation)
    if asked_which_order is not None and refs and not set(scores) - _NOT_ASKING:
        intent, confidence = asked_which_order, STRONG
    if intent is Intent.UNKNOWN and abusive:
        intent, confidence = Intent.ABUSE, STRONG
    if corrections and intent is not Intent.UNKNOWN:
        confidence = max(confidence - TYPO_PENALTY, 0.0)
    return Understanding(
        intent=intent,
        confidence=round(confidence, 2),
        order_refs=tuple(refs),
        product_terms=_product_terms(_REASON.sub(" ", corrected_text))
        if intent in _WITH_PRODUCTS
        else "",
        quantity=_quantity(corrected_text),
        reason=_reason(corrected_text) if intent is Intent.RETURN else "",
        injection=bool(_INJECTION.search(corrected_text)),
        angry=angry,
        abusive=abusive,
        corrected=corrections,
        latest=bool(_LATEST.search(corrected_text)),
        refers_back=bool(_REFERS_BACK.search(corrected_text)),
    )


# Intents whose product words matter: what to search, or which order is meant ("cancel the
# teapot order").
_WITH_PRODUCTS = frozenset(
    {Intent.PRODUCT_SEARCH, Intent.RECOMMENDATIONS, Intent.RETURN, Intent.CANCEL_ORDER,
     Intent.ORDER_STATUS}
)  # fmt: skip
# What an answer to "which order?" may say besides the order ("yes, 1a2b3c4d", "thanks").
_NOT_ASKING = frozenset({Intent.CONFIRM, Intent.GREETING, Intent.THANKS})


def _scores(text: str) -> dict[Intent, float]:
    scores: dict[Intent, float] = {}
    for intent, rules in _COMPILED.items():
        best = max((score for pattern, score in rules if pattern.search(text)), default=0.0)
        if best:
            scores[intent] = best
    return scores


def _decide(
    scores: Mapping[Intent, float], names_order: bool, *, awaiting_confirmation: bool
) -> tuple[Intent, float]:
    confirm, decline = scores.get(Intent.CONFIRM, 0.0), scores.get(Intent.DECLINE, 0.0)
    others = [i for i in scores if i in ACTIONABLE and i is not Intent.CANCEL_ORDER]
    if awaiting_confirmation and decline:
        # Both a yes and a no: the safe reading is no (nothing is cancelled on a maybe).
        return Intent.DECLINE, decline if not confirm else WEAK
    if awaiting_confirmation and confirm and not others:
        return Intent.CONFIRM, confirm
    # A yes that goes on to ask something else answers that, not the pending question.
    if names_order:
        # A message naming an order is about that order before it is about products.
        scores = {**scores, Intent.ORDER_STATUS: max(scores.get(Intent.ORDER_STATUS, 0.0), WEAK)}
    ranked = [intent for intent in _PRIORITY if intent in scores]
    if not ranked:
        if confirm or decline:
            # A yes or no to nothing: the assistant asks what the customer means.
            return (Intent.CONFIRM if confirm >= decline else Intent.DECLINE), GUESS
        return Intent.UNKNOWN, GUESS
    chosen = ranked[0]
    confidence = scores[chosen]
    # Only a strong rival makes the message ambiguous ("show me my orders" is not a search).
    rivals = [
        other
        for other in ranked[1:]
        if other in ACTIONABLE
        and scores[other] >= STRONG
        and frozenset({chosen, other}) not in _COMPATIBLE
    ]
    if chosen in ACTIONABLE and rivals:
        confidence -= AMBIGUITY_PENALTY
    return chosen, confidence


def _sounds_angry(original: str, text: str) -> bool:
    letters = [c for c in original if c.isalpha()]
    shouting = len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) >= 0.7
    # "?!!" is exasperation; "Thanks!!!" is not.
    exasperated = "!!" in original and "?" in original
    return bool(_ANGRY.search(text)) or shouting or exasperated or _swears_at_shop(text)


def _swears_at_shop(text: str) -> bool:
    return bool(_AIMED_PROFANITY.search(text)) or len(_PROFANITIES.findall(text)) >= 2


def _product_terms(text: str) -> str:
    words = [w for w in _WORD.findall(text) if w not in _STOPWORDS and not _is_intent_word(w)]
    words = [w for w in words if not w.isdigit() or len(w) > 2]
    return " ".join(list(dict.fromkeys(words))[:MAX_PRODUCT_TERMS])


_INTENT_WORDS = frozenset(
    """order orders cancel cancellation return returning refund exchange send back status
    track tracking delivery shipped shipping shipment package parcel arrive arrived human
    representative operator person agent support money""".split()  # noqa: SIM905
)


def _is_intent_word(word: str) -> bool:
    return word in _INTENT_WORDS


def _quantity(text: str) -> int | None:
    for match in _QUANTITY.finditer(text):
        raw = match.group(1)
        value = int(raw) if raw.isdigit() else _QUANTITY_WORDS[raw]
        # A bare number is a quantity only when a unit follows or it is small and stands alone.
        if match.group(2) or not raw.isdigit() or value <= 20:
            return value if 1 <= value <= MAX_QUANTITY else None
    return None


def _reason(text: str) -> str:
    match = _REASON.search(text)
    if match is None:
        return ""
    return (match.group(1) or match.group(2) or "").strip(" .!?")[:MAX_REASON_CHARS]
