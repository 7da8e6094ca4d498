"""Read a free-text brief: brand, product, audience, benefits, tone, call to action and colours.

Deterministic and offline: the same request always gives the same analysis.
The style, industry and voice style from the request steer the defaults; an
unknown value falls back to a sensible default, recorded in `fallbacks`.
"""

from __future__ import annotations

import colorsys
import hashlib
import logging
import re
from dataclasses import dataclass

import webcolors

from pipeline.fonts import detect_cjk_language
from pipeline.models import BriefAnalysis, JobRequest, Palette

logger = logging.getLogger(__name__)

STYLES = ("cyberpunk", "minimal", "corporate", "playful", "luxury", "cinematic")
VOICE_STYLES = ("professional", "energetic", "warm", "calm", "friendly", "authoritative")
DEFAULT_VOICE_STYLE = "professional"


@dataclass(frozen=True)
class IndustryProfile:
    """Words and defaults that make copy sound like it belongs to one industry."""

    name: str
    # Who the ad speaks to when the brief names nobody.
    audience: str
    # What the product is when the brief does not say, as a noun phrase.
    category: str
    # Pains the audience feels, written to follow "you" ("lose hours to ...").
    pains: tuple[str, ...]
    # Generic benefits used only when the brief names none.
    benefits: tuple[str, ...]
    # Calls to action in the imperative.
    calls_to_action: tuple[str, ...]
    # Proof angles ("results you can measure") phrased as noun phrases.
    proof: tuple[str, ...]
    # Concrete imagery for the storyboard.
    motifs: tuple[str, ...]
    default_style: str


_INDUSTRIES: dict[str, IndustryProfile] = {
    profile.name: profile
    for profile in (
        IndustryProfile(
            "technology",
            "teams that want to move faster",
            "platform",
            ("manual work that eats the week", "tools that do not talk to each other", "growth that outpaces the team"),
            ("automation that runs around the clock", "setup in days, not months", "security built in from day one"),
            ("Book your demo today", "Start your free trial today", "Get started today"),
            ("hours handed back every week", "teams that ship faster", "uptime you never think about"),
            ("glowing circuit lines", "data streams flowing between nodes", "a dashboard lighting up", "server racks pulsing with light"),
            "corporate",
        ),
        IndustryProfile(
            "finance",
            "people who want their money to work harder",
            "financial service",
            ("fees that quietly eat your savings", "paperwork that never ends", "guessing where your money went"),
            ("clear, low fees", "real-time insight into every account", "bank-level security"),
            ("Open your account today", "Talk to an advisor today", "Get started in minutes"),
            ("savings you can see", "customers who stay for years", "security you can trust"),
            ("rising chart lines", "coins stacking into columns", "a calm, ordered ledger", "a secure vault door"),
            "corporate",
        ),
        IndustryProfile(
            "fitness",
            "people ready to train smarter",
            "training program",
            ("workouts that go nowhere", "plateaus that kill motivation", "no time for the gym"),
            ("workouts built around your schedule", "progress you can track", "coaching that keeps you going"),
            ("Start training today", "Claim your free first week", "Join today"),
            ("members hitting new personal bests", "results you can feel in weeks", "coaches who know your name"),
            ("a runner at dawn", "chalked hands gripping a bar", "a heart-rate line climbing", "sweat catching the light"),
            "cinematic",
        ),
        IndustryProfile(
            "health",
            "people who want to feel their best",
            "health service",
            ("waiting weeks for answers", "advice that does not fit your life", "feeling tired without knowing why"),
            ("care from licensed professionals", "answers in days, not weeks", "plans that fit your life"),
            ("Book your visit today", "Start your free consultation", "Take the first step today"),
            ("patients who feel heard", "care you can reach any time", "results backed by clinicians"),
            ("soft morning light in a clean room", "a calm hand on a shoulder", "a pulse line steadying", "fresh green leaves"),
            "minimal",
        ),
        IndustryProfile(
            "food",
            "anyone who loves a great meal",
            "kitchen",
            ("the same tired dinners", "takeout that arrives cold", "no time to cook"),
            ("fresh ingredients every day", "bold flavour in every bite", "meals ready in minutes"),
            ("Order now", "Reserve your table today", "Taste it today"),
            ("regulars who come back every week", "recipes perfected over years", "plates that leave nothing behind"),
            ("steam rising from a plate", "fresh herbs falling in slow motion", "a sizzling pan", "friends sharing a table"),
            "playful",
        ),
        IndustryProfile(
            "fashion",
            "people who dress to be noticed",
            "collection",
            ("a closet full of nothing to wear", "trends that fade in a month", "fits that never feel right"),
            ("pieces that last for years", "a fit made for you", "style that turns heads"),
            ("Shop the collection today", "Find your fit today", "Shop now"),
            ("pieces customers wear for years", "fabric chosen by hand", "a look that is yours alone"),
            ("fabric rippling in slow motion", "a model walking toward camera", "stitched detail in macro", "a city street at golden hour"),
            "luxury",
        ),
        IndustryProfile(
            "beauty",
            "people who want skin they feel good in",
            "skincare line",
            ("products that promise everything", "routines with twelve steps", "ingredients you cannot pronounce"),
            ("clean ingredients", "a glow you can see", "a routine that takes minutes"),
            ("Find your routine today", "Shop now", "Try it today"),
            ("customers who finally love their skin", "formulas tested by dermatologists", "results in weeks"),
            ("droplets on glass", "soft light across skin", "petals drifting", "a creamy texture swirl"),
            "luxury",
        ),
        IndustryProfile(
            "real_estate",
            "buyers looking for the right place to live",
            "home",
            ("listings that all look the same", "bidding wars you cannot win", "viewings that waste weekends"),
            ("homes matched to your life", "local experts on your side", "a search that moves at your pace"),
            ("Book your viewing today", "Find your home today", "Talk to an agent today"),
            ("families settled in homes they love", "neighbourhoods known street by street", "deals closed on time"),
            ("sunlight through tall windows", "a front door opening", "keys turning in a lock", "a skyline at dusk"),
            "luxury",
        ),
        IndustryProfile(
            "education",
            "learners ready for what comes next",
            "course",
            ("lectures that do not stick", "skills that go out of date", "learning that does not fit around work"),
            ("lessons that fit your schedule", "mentors who answer fast", "skills employers ask for"),
            ("Enroll today", "Start learning today", "Claim your free lesson"),
            ("graduates working in their new field", "courses rated by the people who took them", "lessons built by practitioners"),
            ("pages turning into light", "a lightbulb moment on a whiteboard", "students leaning in", "a graduation cap tossed high"),
            "playful",
        ),
        IndustryProfile(
            "travel",
            "travellers who want more from every trip",
            "travel service",
            ("trips that feel like everyone else's", "planning that takes longer than the holiday", "hidden fees at checkout"),
            ("trips planned around you", "prices with nothing hidden", "local guides who know the way"),
            ("Book your trip today", "Plan your escape today", "Start exploring today"),
            ("travellers who come back for more", "destinations picked by locals", "support at any hour"),
            ("a plane crossing a sunset", "waves rolling onto white sand", "a winding mountain road", "a passport being stamped"),
            "cinematic",
        ),
        IndustryProfile(
            "automotive",
            "drivers who expect more from the road",
            "vehicle",
            ("commutes that drain you", "fuel bills that keep climbing", "cars that feel dated on day one"),
            ("performance that pulls you forward", "efficiency that saves at every fill", "safety that watches every angle"),
            ("Book your test drive today", "Visit a dealer today", "Configure yours today"),
            ("drivers who never look back", "engineering tested over millions of miles", "safety ratings at the top"),
            ("headlights cutting through rain", "a car carving a coastal road", "a dashboard glowing at night", "tyres on wet asphalt"),
            "cinematic",
        ),
        IndustryProfile(
            "retail",
            "shoppers who want more for less",
            "store",
            ("hunting for deals that are not real", "slow shipping", "returns that turn into a chore"),
            ("prices that beat the rest", "fast, free shipping", "returns without the hassle"),
            ("Shop now", "Grab yours today", "Shop the sale today"),
            ("shoppers who come back again and again", "thousands of five-star reviews", "orders that arrive on time"),
            ("a shopping bag swinging into frame", "price tags flipping", "a parcel landing on a doorstep", "products spinning on a pedestal"),
            "playful",
        ),
        IndustryProfile(
            "gaming",
            "players who want the next great challenge",
            "game",
            ("games that feel the same", "lag at the worst moment", "worlds you finish in a weekend"),
            ("worlds worth getting lost in", "matches with zero lag", "a community that plays together"),
            ("Play free today", "Download now", "Join the game today"),
            ("players logging in every night", "reviews from players who stayed", "updates that keep coming"),
            ("a controller glowing in the dark", "pixels exploding into a new world", "a team huddle on screen", "a boss fight in silhouette"),
            "cyberpunk",
        ),
        IndustryProfile(
            "general",
            "people who want something better",
            "product",
            ("settling for good enough", "wasting time on things that do not work", "paying more for less"),
            ("quality you can feel", "service that puts you first", "value that lasts"),
            ("Get yours today", "Find out more today", "Try it today"),
            ("customers who come back again and again", "quality checked at every step", "a team that stands behind it"),
            ("the product on a clean pedestal", "hands reaching for it", "light sweeping across its surface", "a smile of recognition"),
            "corporate",
        ),
    )
}

_INDUSTRY_ALIASES = {
    "tech": "technology", "software": "technology", "saas": "technology", "ai": "technology", "it": "technology",
    "fintech": "finance", "banking": "finance", "insurance": "finance", "investing": "finance",
    "gym": "fitness", "sports": "fitness", "wellness": "health", "healthcare": "health", "medical": "health",
    "restaurant": "food", "food_and_beverage": "food", "beverage": "food", "cafe": "food", "coffee": "food",
    "apparel": "fashion", "clothing": "fashion", "cosmetics": "beauty", "skincare": "beauty",
    "realestate": "real_estate", "property": "real_estate", "housing": "real_estate",
    "edtech": "education", "learning": "education", "hospitality": "travel", "tourism": "travel",
    "automobile": "automotive", "cars": "automotive", "ecommerce": "retail", "e_commerce": "retail", "shopping": "retail",
    "games": "gaming", "esports": "gaming",
}


def industry_profile(name: str) -> IndustryProfile:
    """Return the profile for an industry name or alias, or the general profile if it is unknown."""
    key = _industry_key(name)
    return _INDUSTRIES.get(_INDUSTRY_ALIASES.get(key, key), _INDUSTRIES["general"])


def _industry_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


# Product categories. The words of the product ("a smart ring", "a neighbourhood coffee roaster") pick
# the vocabulary for pains, proof and default benefits ahead of the industry the request names, so a
# coffee roaster filed under "food" never promises meals and a ring filed under "fitness" never offers coaches.
_CATEGORY_PROFILES: tuple[tuple[tuple[str, ...], IndustryProfile], ...] = (
    (
        ("coffee", "roaster", "roastery", "cafe", "café", "espresso", "tea house", "teahouse", "coffee shop"),
        IndustryProfile(
            "coffee",
            "people who take their coffee seriously",
            "coffee shop",
            ("coffee that tastes like it sat there all day", "cafés with nowhere to sit", "beans roasted months ago"),
            ("coffee roasted fresh", "a seat that is waiting for you", "a cup made the way you like it"),
            ("Visit us today", "Stop by today", "Pull up a chair today"),
            ("regulars who know the barista by name", "a cup worth slowing down for", "mornings that start the right way"),
            ("steam curling off a fresh cup", "beans tumbling out of the roaster", "a laptop beside a latte in a sunny corner", "a barista pouring latte art"),
            "minimal",
        ),
    ),
    (
        ("ring", "smartwatch", "watch", "tracker", "wearable", "band", "earbuds", "headphones"),
        IndustryProfile(
            "wearable",
            "people who want to know their body better",
            "wearable",
            ("sleep that never feels like enough", "guessing whether you have recovered", "health data you never look at"),
            ("tracking that never gets in the way", "insights you can act on", "a design you forget you are wearing"),
            ("Order yours today", "Get yours today"),
            ("mornings that start with a clear picture", "habits that finally stick", "numbers that finally make sense"),
            ("a ring catching the light on a hand", "a sleep graph rising at dawn", "a phone screen lighting up with a daily score", "a parent lacing up for a run at sunrise"),
            "minimal",
        ),
    ),
    (
        ("charity", "nonprofit", "non-profit", "foundation", "shelter", "food bank", "fundraiser", "appeal"),
        IndustryProfile(
            "nonprofit",
            "people who want to make a difference",
            "cause",
            ("neighbours going without", "problems that feel too big for one person", "good intentions that never turn into action"),
            ("help that reaches people directly", "a simple way to give", "a difference you can see"),
            ("Donate today", "Give today", "Volunteer today"),
            ("volunteers who show up week after week", "a community that looks after its own", "donations that reach the people who need them"),
            ("hands passing a parcel across a table", "volunteers laughing in matching shirts", "a child looking up with a smile", "a full pantry shelf"),
            "cinematic",
        ),
    ),
    (
        ("dealer", "dealership", "car lot", "motors", "used cars", "pre-owned"),
        IndustryProfile(
            "car_dealer",
            "drivers ready for their next car",
            "dealership",
            ("haggling that takes all afternoon", "prices that change at the desk", "pressure to sign on the spot"),
            ("prices with nothing hidden", "test drives on your schedule", "a team that answers straight"),
            ("Book your test drive today", "Visit the showroom today"),
            ("drivers who come back for their next car", "neighbours who send their friends", "keys handed over with a handshake"),
            ("keys dropping into an open palm", "a row of polished cars at golden hour", "a car pulling out of the showroom", "headlights sweeping across a lot"),
            "cinematic",
        ),
    ),
)
# Product words that map onto an industry profile as it stands.
_CATEGORY_INDUSTRIES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("app", "platform", "software", "saas", "automation", "ai", "crm", "dashboard", "api", "cloud"), "technology"),
    (("skincare", "serum", "moisturiser", "moisturizer", "cleanser", "sunscreen", "lotion", "cosmetics", "makeup"), "beauty"),
    (("bank", "banking", "credit union", "savings", "loan", "mortgage", "credit card", "investing"), "finance"),
    (("restaurant", "bistro", "diner", "pizzeria", "pizza", "taqueria", "kitchen", "grill", "burger", "meal kit", "bakery"), "food"),
    (("game", "rpg", "shooter", "mmo", "strategy game", "puzzle game"), "gaming"),
    (("gym", "fitness studio", "yoga studio", "bootcamp", "personal training"), "fitness"),
    (("clinic", "dental", "dentist", "pharmacy", "therapy", "telehealth"), "health"),
    (("course", "school", "academy", "bootcamp", "tutoring"), "education"),
    (("hotel", "resort", "airline", "tour", "travel"), "travel"),
)


def copy_profile(product: str, industry: str) -> IndustryProfile:
    """Return the vocabulary the copy should use: the product's category if its words name one, else the industry's."""
    words = f" {re.sub(r'[^a-z0-9é -]+', ' ', product.lower())} "
    for keywords, profile in _CATEGORY_PROFILES:
        if any(f" {keyword} " in words for keyword in keywords):
            return profile
    for keywords, name in _CATEGORY_INDUSTRIES:
        if any(f" {keyword} " in words for keyword in keywords):
            return _INDUSTRIES[name]
    return industry_profile(industry)


# Offers and deals. The offer is kept exactly as the brief writes it, so captions show "$49.99 this week only".


@dataclass(frozen=True)
class Offer:
    """A price, discount or deal from the brief: its text as written and the name of the deal, if any."""

    text: str
    # "launch deal", "spring sale"; empty when the brief names none.
    deal: str


_PRICE_OFFER_RE = re.compile(
    r"(?P<offer>[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s*/\s*[a-z]+)?(?:\s+(?:a|per)\s+(?:month|year|week))?"
    r"(?:\s+(?:this|for\s+a|for\s+one|until|through|today|only|limited|all|every|on)\b[^.!?,;:\n]*)?)",
    re.IGNORECASE,
)
_DISCOUNT_OFFER_RE = re.compile(
    r"(?P<offer>(?:up\s+to\s+)?\d+\s?%\s+off\b[^.!?,;:\n]*|free\s+(?:\d+[\s-]day\s+)?(?:shipping|delivery|returns|trial|installation|consultation|first\s+\w+)\b[^.!?,;:\n]*|"
    r"(?:your\s+)?first\s+(?:month|week|class|lesson|session|order)\s+free\b[^.!?,;:\n]*|buy\s+one,?\s+get\s+one(?:\s+free)?\b[^.!?,;:\n]*|bogo\b[^.!?,;:\n]*)",
    re.IGNORECASE,
)
_DEAL_RE = re.compile(
    r"\b(?P<deal>(?:launch|opening|grand\s+opening|holiday|summer|spring|winter|autumn|fall|black\s+friday|cyber\s+monday|"
    r"introductory|early[\s-]bird|limited[\s-]time|weekend|flash)\s+(?:deal|offer|sale|discount|special|price|pricing|promo))\b",
    re.IGNORECASE,
)
_OFFER_CONTEXT_RE = re.compile(r"\b(?:deal|offer|sale|discount|promo|only|limited|save|special|now|today|launch)\b", re.IGNORECASE)


def find_offer(brief: str) -> Offer:
    """Find the offer in a brief ("$49.99 this week only", "20% off", "free shipping"); empty if it names none.

    A bare price counts only in a sentence about a deal, so "crowns from $49.99" stays a benefit.
    """
    for sentence in _SENTENCE_SPLIT_RE.split(brief):
        deal_match = _DEAL_RE.search(sentence)
        deal = deal_match.group("deal").lower() if deal_match else ""
        text = ""
        discount = _DISCOUNT_OFFER_RE.search(sentence)
        price = _PRICE_OFFER_RE.search(sentence)
        after_deal = re.match(r"\s*:\s*(?P<offer>(?:[^.!?\n]|\.(?=\d))*\d(?:[^.!?\n]|\.(?=\d))*)", sentence[deal_match.end():]) if deal_match else None
        if after_deal:
            text = after_deal.group("offer")
        elif discount:
            text = discount.group("offer")
        elif price and (_OFFER_CONTEXT_RE.search(sentence) or deal):
            text = price.group("offer")
        text = _strip_symbols(text)
        if text:
            return Offer(text, deal)
    return Offer("", "")


def with_offer(call_to_action: str, offer: Offer) -> str:
    """Fold an offer into the call to action, keeping the offer's words exactly as the brief wrote them."""
    if not offer.text or offer.text.lower() in call_to_action.lower():
        return call_to_action
    base = call_to_action.rstrip(" .!")
    if offer.deal:
        return f"Grab the {offer.deal}: {offer.text}"
    text = offer.text if re.match(r"[A-Z]{2}|[A-Z]\d", offer.text) else offer.text[:1].lower() + offer.text[1:]
    if offer.text[:1] in "$€£¥":
        return f"{base}: {offer.text}"
    return f"{base} and get {text}"


def _strip_symbols(text: str) -> str:
    """Drop emoji and trailing punctuation from an offer so the caption shows only its words."""
    text = "".join(char for char in text if char.isalnum() or char.isspace() or char in "$€£¥%.,/'&-")
    return re.sub(r"\s+", " ", text).strip(" .,-")


# Colour vocabulary: CSS/X11 names from webcolors plus common names CSS lacks.

_EXTRA_COLOURS: dict[str, str] = {
    "amber": "#ffbf00", "emerald": "#50c878", "ruby": "#e0115f", "sapphire": "#0f52ba", "cobalt": "#0047ab",
    "mint": "#98ff98", "burgundy": "#800020", "champagne": "#f7e7ce", "charcoal": "#36454f", "copper": "#b87333",
    "bronze": "#cd7f32", "mauve": "#e0b0ff", "sage": "#9caf88", "terracotta": "#e2725b", "mustard": "#e1ad01",
    "cream": "#fffdd0", "pearl": "#eae0c8", "graphite": "#383838", "slate": "#708090", "jet black": "#0a0a0a",
    "off-white": "#f8f8f2", "blush": "#de5d83", "rose": "#ff007f", "rose gold": "#b76e79", "peach": "#ffcba4",
    "lilac": "#c8a2c8", "scarlet": "#ff2400", "cerulean": "#007ba7", "aquamarine": "#7fffd4", "jade": "#00a86b",
    "electric blue": "#7df9ff", "baby blue": "#89cff0", "navy blue": "#000080", "royal purple": "#7851a9",
    "forest": "#228b22", "ochre": "#cc7722", "sand": "#c2b280", "ivory": "#fffff0", "onyx": "#353839",
    "obsidian": "#0b1215", "platinum": "#e5e4e2", "neon green": "#39ff14", "neon pink": "#ff10f0",
    "hot pink": "#ff69b4", "lime green": "#32cd32", "sky blue": "#87ceeb", "sea green": "#2e8b57",
    "midnight": "#191970", "midnight blue": "#191970", "ice blue": "#99ffff", "grey": "#808080", "gray": "#808080",
    "cyan": "#00ffff", "magenta": "#ff00ff", "gold": "#ffd700", "silver": "#c0c0c0", "violet": "#8f00ff",
    "indigo": "#4b0082", "teal": "#008080", "turquoise": "#40e0d0", "lavender": "#b57edc", "purple": "#800080",
    # Names common in marketing and product copy.
    "espresso": "#4b3621", "espresso brown": "#4b3621", "mocha": "#967969", "coffee": "#6f4e37",
    "coffee brown": "#6f4e37", "chocolate brown": "#7b3f00", "caramel": "#c68e17", "latte": "#c8a27c",
    "cognac": "#9a463d", "camel": "#c19a6b", "taupe": "#483c32", "stone": "#928e85", "oatmeal": "#e6dcc8",
    "cream white": "#fffdd0", "bone": "#e3dac9", "eggshell": "#f0ead6", "sage green": "#9caf88",
    "mint green": "#98ff98", "olive green": "#708238", "forest green": "#228b22", "bottle green": "#006a4e",
    "hunter green": "#355e3b", "electric lime": "#ccff00", "neon yellow": "#ffff33", "neon orange": "#ff5f1f",
    "neon blue": "#1f51ff", "neon purple": "#bc13fe", "acid green": "#b0bf1a", "blush pink": "#fe828c",
    "dusty rose": "#dcae96", "rose pink": "#ff66cc", "millennial pink": "#f3cfc6", "wine": "#722f37",
    "oxblood": "#4a0000", "cherry red": "#d2042d", "brick red": "#cb4154", "rust": "#b7410e",
    "burnt orange": "#cc5500", "tangerine": "#f28500", "apricot": "#fbceb1", "lemon yellow": "#fff44f",
    "butter yellow": "#fffd74", "sunshine yellow": "#fffd37", "marigold": "#eaa221", "honey": "#eba937",
    "petrol blue": "#005f6a", "denim": "#1560bd", "denim blue": "#1560bd", "ocean blue": "#0077be",
    "powder blue": "#b0e0e6", "periwinkle": "#ccccff", "plum": "#8e4585", "eggplant": "#614051",
    "aubergine": "#3d0734", "mulberry": "#c54b8c", "berry": "#990f4b", "charcoal grey": "#36454f",
    "charcoal gray": "#36454f", "gunmetal": "#2a3439", "pewter": "#899499", "matte black": "#28282b",
    "pure white": "#ffffff", "snow white": "#fffafa", "brass": "#b5a642", "rose gold": "#b76e79",
}

# Colour words common enough to count anywhere in a brief. Rarer CSS names
# ("tomato", "chocolate", "linen") count only next to a modifier or in a
# sentence about colour, so "chocolate cake" does not tint the palette.
_COMMON_COLOURS = frozenset(
    "red orange yellow green blue purple pink cyan magenta teal navy gold silver white black gray grey amber violet "
    "indigo turquoise crimson maroon beige lavender coral lime mint emerald ruby sapphire cobalt burgundy charcoal "
    "copper bronze mauve scarlet cerulean aquamarine jade ivory platinum fuchsia azure chartreuse brown espresso "
    "mocha caramel champagne blush terracotta taupe rust periwinkle marigold tangerine aubergine gunmetal".split()
)

# Colour words that are also common nouns ("cream cheese", "coffee beans"). They
# count next to a modifier, in a sentence about colour or beside a colour that
# counts on its own, as in "cream and espresso brown".
_AMBIGUOUS_COLOURS = frozenset(
    "rose sand forest slate cream midnight peach mint sage pearl coffee latte honey wine stone bone camel denim plum "
    "berry oatmeal cognac brass honey lemon olive".split()
)

# Phrases where a colour word does not name a colour.
_NON_COLOUR_PHRASES = (
    "black friday", "white paper", "whitepaper", "white label", "white-label", "gold standard", "silver lining",
    "red tape", "blue chip", "green light", "golden age", "silver bullet", "black box", "white glove", "white-glove",
    "rose to", "rose by", "orange juice", "ice cream", "face cream", "hand cream", "eye cream", "night cream",
    "day cream", "sour cream", "cream cheese", "whipped cream", "shaving cream", "coffee shop", "coffee bean",
    "coffee machine", "coffee maker", "wine bar", "wine list",
)

_COLOUR_CONTEXT_RE = re.compile(r"\b(colou?rs?|palette|tones?|hues?|shades?|accents?)\b", re.IGNORECASE)

# Modifiers and how each moves a colour in HLS space: (lightness, saturation) targets or factors.
_MODIFIERS = (
    "neon", "electric", "cosmic", "deep", "dark", "light", "pastel", "bright", "vivid", "muted", "soft", "pale",
    "rich", "dusty", "warm", "cool", "metallic", "hot", "royal", "midnight", "burnt", "icy", "glowing",
)


@dataclass(frozen=True)
class NamedColour:
    """A colour phrase found in a brief and the hex value it resolves to."""

    phrase: str
    hex: str


def colour_vocabulary() -> dict[str, str]:
    """Return the colour vocabulary: lowercase names, with spaces, mapped to "#rrggbb"."""
    vocabulary = {name: webcolors.name_to_hex(name) for name in webcolors.names("css3")}
    for css_name, hex_value in list(vocabulary.items()):
        spaced = _space_css_name(css_name)
        if spaced != css_name:
            vocabulary[spaced] = hex_value
    vocabulary.update(_EXTRA_COLOURS)
    return vocabulary


_CSS_NAME_WORDS = frozenset(
    "light dark medium pale deep dodger cornflower cadet rebecca lawn forest lime sea spring yellow olive hot misty "
    "midnight navajo alice ghost antique blanched floral lemon old papaya peach powder rosy royal saddle sandy sky "
    "slate steel white lavender green golden blue red violet orange indian navy dim gray grey mint honey burly fire "
    "purple pink brown rod orchid turquoise cyan salmon coral wood smoke whip puff blush lace chiffon cream wheat drab "
    "aqua marine sienna goldenrod khaki magenta seagreen".split()
)


def _space_css_name(name: str) -> str:
    """Split a CSS name such as "darkslateblue" into "dark slate blue" when it is made of known words."""
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(name) + 1):
        for start in range(end):
            if start in best and name[start:end] in _CSS_NAME_WORDS:
                candidate = [*best[start], name[start:end]]
                if end not in best or len(candidate) < len(best[end]):
                    best[end] = candidate
    words = best.get(len(name))
    return " ".join(words) if words and len(words) > 1 else name


def find_colours(text: str) -> tuple[NamedColour, ...]:
    """Find colour phrases in `text` in order, with modifiers applied: "cosmic cyan" -> ("cosmic cyan", "#..")."""
    vocabulary = colour_vocabulary()
    names = sorted(vocabulary, key=len, reverse=True)
    name_pattern = "|".join(re.escape(name) for name in names)
    modifier_pattern = "|".join(_MODIFIERS)
    pattern = re.compile(rf"\b((?:(?:{modifier_pattern})[\s-]+)*)({name_pattern})(?:ish)?\b", re.IGNORECASE)
    found: list[NamedColour] = []
    seen_phrases: set[str] = set()
    seen_hexes: set[str] = set()
    for sentence in re.split(r"(?<=[.!?;\n])\s+", text):
        lowered = sentence.lower()
        in_colour_sentence = bool(_COLOUR_CONTEXT_RE.search(sentence))
        exact = _find_exact_colours(sentence, in_colour_sentence)
        candidates: list[tuple[int, str, tuple[str, ...], bool]] = []
        for match in pattern.finditer(lowered):
            if any(start <= match.start() < end for start, end, _ in exact):
                continue
            modifiers = match.group(1).split()
            name = match.group(2)
            start = match.start(2)
            if any(lowered.startswith(phrase, start) or lowered[max(0, match.start() - 1):].startswith(phrase) for phrase in _NON_COLOUR_PHRASES):
                continue
            rare = name not in _COMMON_COLOURS and " " not in name and name not in _EXTRA_COLOURS
            standalone = bool(modifiers) or in_colour_sentence or (not rare and name not in _AMBIGUOUS_COLOURS)
            candidates.append((match.start(), name, tuple(modifiers), standalone))
        any_standalone = bool(exact) or any(standalone for _, _, _, standalone in candidates)
        # Exact and named colours are kept in the order the sentence gives them.
        ordered = [(start, colour) for start, _, colour in exact]
        for start, name, modifiers, standalone in candidates:
            if not standalone and (name not in _AMBIGUOUS_COLOURS or not any_standalone):
                continue
            ordered.append((start, NamedColour(" ".join([*modifiers, name]), _resolve_colour(vocabulary, name, modifiers))))
        for _, colour in sorted(ordered, key=lambda item: item[0]):
            if colour.phrase in seen_phrases:
                continue
            seen_phrases.add(colour.phrase)
            # Two phrases for one colour ("midnight" and "midnight blue") would fill two palette slots.
            if colour.hex in seen_hexes:
                continue
            seen_hexes.add(colour.hex)
            found.append(colour)
    return tuple(found)


# Exact colours in CSS notation: "#1E90FF", "#f60", "rgb(255, 99, 71)", "rgb(100% 50% 0%)".
_HEX_COLOUR_RE = re.compile(r"(?<![\w#&])#(?:[0-9a-f]{6}|[0-9a-f]{3})(?![\w-])", re.IGNORECASE)
_RGB_COLOUR_RE = re.compile(r"(?<![\w-])rgb\(\s*(?P<channels>[^()]*?)\s*\)", re.IGNORECASE)
# A colour list item that matches this is meant as hex or rgb(), valid or not, so `parse_exact_colour`
# checks it and it is never reported as an unknown colour name.
_EXACT_COLOUR_ATTEMPT_RE = re.compile(r"#\w+|rgba?\s*\([^()]*\)?", re.IGNORECASE)
_HEX_COLOUR_FIX = "write a hex colour as #RGB or #RRGGBB"
_RGB_COLOUR_FIX = "write rgb() with three whole numbers from 0 to 255, or three percentages from 0% to 100%"


def parse_exact_colour(text: str) -> str | None:
    """Return "#rrggbb" for a CSS hex colour or rgb() colour, or None if `text` is not a valid one.

    rgb() takes three integers from 0 to 255 or three percentages from 0% to 100%, separated by
    commas or spaces. Values out of range are rejected rather than clamped as CSS would, because
    in a brief they are more likely typing errors than intent.
    """
    text = text.strip()
    if _HEX_COLOUR_RE.fullmatch(text):
        return webcolors.normalize_hex(text)
    rgb = _RGB_COLOUR_RE.fullmatch(text)
    if not rgb:
        return None
    channels = [channel for channel in re.split(r"\s*,\s*|\s+", rgb.group("channels")) if channel]
    if len(channels) != 3:
        return None
    if all(re.fullmatch(r"\d{1,3}", channel) for channel in channels):
        values = tuple(int(channel) for channel in channels)
        return webcolors.rgb_to_hex(values) if all(value <= 255 for value in values) else None
    if all(re.fullmatch(r"\d{1,3}(?:\.\d+)?%", channel) for channel in channels):
        if all(float(channel[:-1]) <= 100 for channel in channels):
            return webcolors.rgb_percent_to_hex((channels[0], channels[1], channels[2]))
    return None


def _find_exact_colours(sentence: str, in_colour_sentence: bool) -> list[tuple[int, int, NamedColour]]:
    """Return (start, end, colour) for each valid hex or rgb() colour in one sentence, as written.

    A hex code made only of letters ("#bad", "#Decade") counts only in a sentence about colour or
    when written in capitals ("#FFF"), so a hashtag is not read as a colour.
    """
    found: list[tuple[int, int, NamedColour]] = []
    for match in _HEX_COLOUR_RE.finditer(sentence):
        code = match.group(0)[1:]
        if not any(char.isdigit() for char in code) and not in_colour_sentence and not code.isupper():
            continue
        found.append((match.start(), match.end(), NamedColour(match.group(0), webcolors.normalize_hex(match.group(0)))))
    for match in _RGB_COLOUR_RE.finditer(sentence):
        hex_value = parse_exact_colour(match.group(0))
        if hex_value:
            found.append((match.start(), match.end(), NamedColour(match.group(0), hex_value)))
    return found


# Phrases that introduce a list of colours: "colours: x and y", "in x and y tones", "x-coloured".
_COLOUR_LIST_RES = (
    # "Tone:" introduces the voice's tone, not colours.
    re.compile(r"\b(?:colou?rs?|palette|hues?|shades?)\s*(?::|of|are|is|in|like)\s+((?:[^.;!?\n()]|\([^()]*\))+)", re.IGNORECASE),
    re.compile(r"\bin\s+((?:[\w-]+,?\s+){1,5}?)(?:colou?rs?|tones?|hues?|shades?)\b", re.IGNORECASE),
    re.compile(r"\b([a-z]+)[\s-]colou?red\b", re.IGNORECASE),
)
_COLOUR_LIST_SEPARATOR_RE = re.compile(r",|&|/|\b(?:and|or|with|plus|on)\b", re.IGNORECASE)
# Words in a colour list that describe the palette rather than name a colour.
_GENERIC_COLOUR_WORDS = frozenset(
    "brand bold earthy earth natural neutral neutrals vibrant matching complementary "
    "primary secondary accent accents colour colours color colors tone tones hue hues shade shades palette "
    "autumn summer winter spring jewel candy monochrome monochromatic contrasting same different many several "
    "two three few clean fresh modern classic calm subtle strong simple bright bold touches touch of pops pop "
    "splash hint hints highlights".split()
) | frozenset(_MODIFIERS)


# Words no colour name contains: a list item holding one is ordinary prose ("in a can with blue tones").
_NON_COLOUR_NAME_WORDS = frozenset("a an the some our your its their this that these those is are for to".split())


def find_unrecognised_colours(text: str) -> tuple[str, ...]:
    """Find phrases a brief offers as colours ("colours: zorblax and teal") that the colour vocabulary lacks.

    Hex and rgb() items are left to `find_invalid_exact_colours`.
    """
    unrecognised: list[str] = []
    for colour_list in _COLOUR_LIST_RES:
        for match in colour_list.finditer(text):
            for item in _split_colour_list(match.group(1)):
                if _EXACT_COLOUR_ATTEMPT_RE.fullmatch(item.strip()):
                    continue
                words = item.lower().replace("-", " ").split()
                if not words or len(words) > 3 or all(word in _GENERIC_COLOUR_WORDS for word in words):
                    continue
                if any(word in _NON_COLOUR_NAME_WORDS for word in words):
                    continue
                phrase = " ".join(words)
                if not find_colours(f"colours: {phrase}") and phrase not in unrecognised:
                    unrecognised.append(phrase)
    return tuple(unrecognised)


def find_invalid_exact_colours(text: str) -> tuple[tuple[str, str], ...]:
    """Find hex and rgb() items in a brief's colour lists that are not valid colours, each with how to fix it."""
    invalid: list[tuple[str, str]] = []
    for colour_list in _COLOUR_LIST_RES:
        for match in colour_list.finditer(text):
            for item in _split_colour_list(match.group(1)):
                phrase = item.strip()
                if not _EXACT_COLOUR_ATTEMPT_RE.fullmatch(phrase) or parse_exact_colour(phrase):
                    continue
                fix = _HEX_COLOUR_FIX if phrase.startswith("#") else _RGB_COLOUR_FIX
                if (phrase, fix) not in invalid:
                    invalid.append((phrase, fix))
    return tuple(invalid)


def _split_colour_list(text: str) -> list[str]:
    """Split a colour list at its separators, never inside parentheses, so "rgb(255, 99, 71)" stays whole."""
    depth = 0
    depths: list[int] = []
    for char in text:
        if char == "(":
            depth += 1
        depths.append(depth)
        if char == ")":
            depth = max(depth - 1, 0)
    items: list[str] = []
    start = 0
    for separator in _COLOUR_LIST_SEPARATOR_RE.finditer(text):
        if depths[separator.start()] == 0:
            items.append(text[start:separator.start()])
            start = separator.end()
    items.append(text[start:])
    return items


def _resolve_colour(vocabulary: dict[str, str], name: str, modifiers: tuple[str, ...]) -> str:
    """Return the hex value of `name` after `modifiers`, preferring the longest phrase the vocabulary lists.

    "electric blue" and "hot pink" are colours of their own, not "blue" and "pink" modified.
    """
    for split in range(len(modifiers) + 1):
        candidate = " ".join([*modifiers[split:], name])
        if candidate in vocabulary:
            return apply_modifiers(vocabulary[candidate], modifiers[:split])
    return apply_modifiers(vocabulary[name], modifiers)


def apply_modifiers(hex_value: str, modifiers: tuple[str, ...]) -> str:
    """Move a colour the way a modifier word does: "neon" saturates and brightens, "deep" darkens, ..."""
    red, green, blue = (channel / 255 for channel in webcolors.hex_to_rgb(hex_value))
    hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
    for modifier in modifiers:
        if modifier in _BRIGHTENING_MODIFIERS:
            before = _hls_to_hex(hue % 1.0, lightness, saturation)
            if modifier in ("neon", "electric", "glowing"):
                saturation, lightness = 1.0, max(lightness, 0.5)
            else:
                saturation, lightness = min(1.0, saturation * 1.2 + 0.1), max(lightness, 0.45)
            lightness = _lighten_to_luminance(hue % 1.0, lightness, saturation, relative_luminance(before))
        elif modifier == "cosmic":
            # Deep-space saturated tone: full saturation, a touch darker, hue nudged toward blue-violet.
            saturation, lightness = 1.0, min(max(lightness * 0.9, 0.42), 0.5)
            hue = hue + (0.66 - hue) * 0.05
        elif modifier in ("deep", "rich", "royal"):
            saturation, lightness = min(1.0, saturation * 1.1 + 0.1), lightness * 0.7
        elif modifier in ("dark", "midnight", "burnt"):
            lightness = lightness * 0.55
        elif modifier in ("light", "pale", "icy"):
            lightness = lightness + (0.92 - lightness) * 0.6
        elif modifier == "pastel":
            saturation, lightness = min(saturation, 0.6), 0.84
        elif modifier in ("muted", "dusty", "metallic"):
            saturation = saturation * 0.45
        elif modifier == "soft":
            saturation, lightness = saturation * 0.7, lightness + (0.85 - lightness) * 0.4
        elif modifier == "warm":
            hue = hue + (0.08 - hue) * 0.15
        elif modifier == "cool":
            hue = hue + (0.6 - hue) * 0.15
    return _hls_to_hex(hue % 1.0, lightness, saturation)


# Modifiers that saturate a colour and never make it darker.
_BRIGHTENING_MODIFIERS = frozenset({"neon", "electric", "glowing", "bright", "vivid", "hot"})


def _lighten_to_luminance(hue: float, lightness: float, saturation: float, minimum: float) -> float:
    """Raise `lightness` until the colour's relative luminance reaches `minimum`.

    Saturating a colour at the same HLS lightness can lower its luminance (grey
    to red), so a brightening modifier checks the result against the input.
    """
    while lightness < 1.0 and relative_luminance(_hls_to_hex(hue, lightness, saturation)) < minimum:
        lightness = min(1.0, lightness + 0.01)
    return lightness


def _hls_to_hex(hue: float, lightness: float, saturation: float) -> str:
    red, green, blue = colorsys.hls_to_rgb(hue, min(max(lightness, 0.0), 1.0), min(max(saturation, 0.0), 1.0))
    return "#{:02x}{:02x}{:02x}".format(*(round(channel * 255) for channel in (red, green, blue)))


def _hex_to_hls(hex_value: str) -> tuple[float, float, float]:
    red, green, blue = (channel / 255 for channel in webcolors.hex_to_rgb(hex_value))
    return colorsys.rgb_to_hls(red, green, blue)


def relative_luminance(hex_value: str) -> float:
    """Return the WCAG 2 relative luminance of a "#rrggbb" colour, 0.0 for black to 1.0 for white."""

    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = webcolors.hex_to_rgb(hex_value)
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG 2 contrast ratio of two colours, from 1.0 to 21.0."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# Per-style palettes used when the brief names no colours.
_STYLE_PALETTES: dict[str, Palette] = {
    "cyberpunk": Palette("#00f0ff", "#ff2bd6", "#f8e71c", "#0a0614", "#f4f4ff"),
    "minimal": Palette("#1f1f1f", "#6b7280", "#2563eb", "#fafafa", "#111111"),
    "corporate": Palette("#1d4ed8", "#0f766e", "#f59e0b", "#0b1526", "#f8fafc"),
    "playful": Palette("#ff5a5f", "#7c3aed", "#ffb400", "#fff7ec", "#1e1b2e"),
    "luxury": Palette("#d4af37", "#b8a27a", "#f5e6c8", "#0d0d0d", "#f7f3ea"),
    "cinematic": Palette("#e0a458", "#2a9d8f", "#e76f51", "#0b0c10", "#f1f1f1"),
}
_LIGHT_STYLES = frozenset({"minimal", "playful"})

# Minimum contrast of palette colours drawn as large titles or shapes on the background
# (WCAG 2 large-text level) and of body text on the background (WCAG AAA).
MIN_GRAPHIC_CONTRAST = 3.0
MIN_TEXT_CONTRAST = 7.0


def build_palette(colours: tuple[NamedColour, ...], style: str) -> Palette:
    """Build a readable palette from the colours a brief names, or return the style's palette if it names none."""
    default = _STYLE_PALETTES.get(style, _STYLE_PALETTES["corporate"])
    if not colours:
        return Palette(
            primary=ensure_contrast(default.primary, default.background, MIN_GRAPHIC_CONTRAST),
            secondary=ensure_contrast(default.secondary, default.background, MIN_GRAPHIC_CONTRAST),
            accent=ensure_contrast(default.accent, default.background, MIN_GRAPHIC_CONTRAST),
            background=default.background,
            text=default.text,
        )
    hexes = [colour.hex for colour in colours]
    light_theme = style in _LIGHT_STYLES
    dark_named = [value for value in hexes if relative_luminance(value) < 0.02]
    light_named = [value for value in hexes if relative_luminance(value) > 0.85]
    if dark_named:
        background = dark_named[0]
    elif light_theme and light_named:
        background = light_named[0]
    else:
        hue, _, saturation = _hex_to_hls(hexes[0])
        background = _hls_to_hex(hue, 0.96, min(saturation, 0.5)) if light_theme else _hls_to_hex(hue, 0.055, min(saturation, 0.6))
    remaining = [value for value in hexes if value != background]
    if dark_named and len(remaining) < 2:
        # A dark named colour became the background; lift it to keep it in the foreground colours too.
        remaining.append(dark_named[0])
    if not remaining:
        remaining = [default.primary]
    primary = remaining[0]
    if len(remaining) > 1:
        secondary = remaining[1]
    else:
        secondary = _shift_hue(primary, 0.5 if style in ("cyberpunk", "playful") else 0.08)
    secondary = ensure_contrast(secondary, background, MIN_GRAPHIC_CONTRAST)
    accent = remaining[2] if len(remaining) > 2 else _tint(secondary)
    text = _best_text_colour(background)
    used_colours = [background, text]
    for colour in (primary, secondary, accent):
        readable = ensure_contrast(colour, background, MIN_GRAPHIC_CONTRAST)
        used_colours.append(_distinct_colour(readable, background, used_colours))
    return Palette(
        primary=used_colours[2],
        secondary=used_colours[3],
        accent=used_colours[4],
        background=background,
        text=text,
        named=tuple(colour.phrase for colour in colours),
    )


def _distinct_colour(colour: str, background: str, used_colours: list[str]) -> str:
    """Return `colour`, or its nearest lightness step not in `used_colours` that keeps graphic contrast on the background.

    Grey and white have no hue to shift, so the derived secondary and accent can
    otherwise repeat the primary.
    """
    if colour not in used_colours:
        return colour
    hue, lightness, saturation = _hex_to_hls(colour)
    for step in (0.12, -0.12, 0.24, -0.24, 0.36, -0.36, 0.48, -0.48):
        candidate = _hls_to_hex(hue, min(max(lightness + step, 0.0), 1.0), saturation)
        if candidate not in used_colours and contrast_ratio(candidate, background) >= MIN_GRAPHIC_CONTRAST:
            return candidate
    # NOTE: only reached when no lightness step clears the contrast; the palette then repeats a colour.
    logger.warning("No distinct palette colour near %s on %s", colour, background)
    return colour


def _shift_hue(hex_value: str, turn: float) -> str:
    hue, lightness, saturation = _hex_to_hls(hex_value)
    return _hls_to_hex((hue + turn) % 1.0, lightness, saturation)


def _tint(hex_value: str) -> str:
    """Return a lighter, fully saturated version of a colour, used as the accent beside it."""
    hue, lightness, saturation = _hex_to_hls(hex_value)
    return _hls_to_hex(hue, min(0.8, lightness + (0.85 - lightness) * 0.5), 1.0 if saturation > 0.08 else 0.0)


def _best_text_colour(background: str) -> str:
    """Pick a near-white or near-black tinted with the background's hue, or pure white or black if the tint is too weak."""
    hue, _, saturation = _hex_to_hls(background)
    tint_saturation = 0.0 if saturation < 0.08 else 0.35
    dark_background = relative_luminance(background) < 0.18
    tinted = _hls_to_hex(hue, 0.97 if dark_background else 0.08, tint_saturation)
    if contrast_ratio(tinted, background) >= MIN_TEXT_CONTRAST:
        return tinted
    return max(("#ffffff", "#000000"), key=lambda candidate: contrast_ratio(candidate, background))


def ensure_contrast(colour: str, background: str, minimum: float) -> str:
    """Move `colour`'s lightness away from the background, keeping its hue, until the contrast reaches `minimum`."""
    if contrast_ratio(colour, background) >= minimum:
        return colour
    hue, lightness, saturation = _hex_to_hls(colour)
    direction = 1.0 if relative_luminance(background) < 0.5 else -1.0
    candidate = colour
    for _ in range(40):
        lightness = min(max(lightness + 0.025 * direction, 0.0), 1.0)
        candidate = _hls_to_hex(hue, lightness, saturation)
        if contrast_ratio(candidate, background) >= minimum:
            break
    return candidate


# Brief reading

_STYLE_KEYWORDS: dict[str, tuple[str, ...]] = {
    "cyberpunk": ("cyberpunk", "neon", "futuristic", "sci-fi", "synthwave", "hacker", "dystopian"),
    "luxury": ("luxury", "luxurious", "premium", "elegant", "exclusive", "high-end", "opulent", "couture"),
    "playful": ("playful", "fun", "whimsical", "cheerful", "quirky", "kids", "cartoon", "colorful", "colourful"),
    "minimal": ("minimal", "minimalist", "clean", "simple", "understated", "scandinavian"),
    "cinematic": ("cinematic", "epic", "dramatic", "film", "movie", "trailer", "emotional", "storytelling"),
    "corporate": ("corporate", "professional", "enterprise", "trustworthy", "b2b", "business"),
}

_TONE_WORDS = (
    "bold", "innovative", "playful", "warm", "friendly", "luxurious", "elegant", "calm", "energetic", "urgent",
    "confident", "professional", "inspiring", "inspirational", "fun", "premium", "trustworthy", "edgy", "futuristic",
    "minimal", "emotional", "witty", "authoritative", "uplifting", "empowering", "sophisticated", "cheerful",
    "dramatic", "serious", "casual", "quirky", "heartfelt", "exciting", "reassuring", "rebellious", "modern",
)

_STYLE_TONES = {
    "cyberpunk": "bold, futuristic", "minimal": "clear, confident", "corporate": "confident, trustworthy",
    "playful": "fun, upbeat", "luxury": "elegant, assured", "cinematic": "dramatic, inspiring",
}

_VOICE_FROM_TONE: dict[str, tuple[str, ...]] = {
    "energetic": ("energetic", "bold", "exciting", "urgent", "edgy", "fun", "playful", "rebellious", "upbeat"),
    "calm": ("calm", "soothing", "reassuring", "serene", "minimal"),
    "warm": ("warm", "heartfelt", "emotional", "friendly", "cheerful"),
    "authoritative": ("authoritative", "serious", "dramatic", "sophisticated", "luxurious", "elegant"),
}

_CTA_VERBS = (
    "book", "buy", "call", "claim", "contact", "discover", "download", "get", "grab", "join", "learn", "order",
    "reserve", "schedule", "shop", "sign up", "start", "subscribe", "try", "visit", "apply", "register", "enroll",
    "explore", "request", "find",
)

# Words that open a sentence of instructions rather than a name.
_INSTRUCTION_WORDS = frozenset(
    "create make produce write generate build design a an the this our we i target audience highlight tone "
    "style show focus emphasize emphasise feature include mention use end close call cta colors colours "
    "it its for with and video commercial ad advert spot second seconds minute promo introducing introduce meet "
    "promote launch announce showcase".split()
)

_BRAND_PATTERNS = (
    re.compile(r"\b(?:commercial|ad|advert|video|spot|promo|campaign|advertisement)\s+(?:for|about|promoting)\s+(?P<brand>(?:(?:Dr|Mr|Mrs|Ms|St|Prof)\.\s+|[^,.;:!?()])+?)(?:\s*[,(]|\s+(?:a|an|the|which|that|who)\b|[.;:!?]|$)", re.IGNORECASE),
    re.compile(r"\b(?:introducing|introduce|meet|launch(?:ing)?|promote|promoting|announce|announcing)\s+(?P<brand>(?:(?:Dr|Mr|Mrs|Ms|St|Prof)\.\s+|[^,.;:!?()])+?)(?:\s*[,(]|\s+(?:a|an|the|which|that|who|to)\b|[.;:!?]|$)", re.IGNORECASE),
    re.compile(r"\b(?:brand|company|product|app|called|named)\s*(?:name)?\s*[:=]?\s*[\"“']?(?P<brand>[A-Z][\w&'.-]*(?:\s+[A-Z0-9][\w&'.-]*){0,3})", re.UNICODE),
    re.compile(r"[\"“](?P<brand>[^\"”]{2,40})[\"”]"),
)

# The product right after the brand: "Brightly, a smart lamp", "Brightly: the lamp", "Brightly is a lamp".
_PRODUCT_RE = re.compile(
    r"^\s*(?:[,:\u2013\u2014-]|(?:is|was)\s)?\s*(?:a|an|the)\s+(?P<product>[^,.;:!?]+?)(?:\s+(?:that|which|who|for|to|with|so)\b|\s+(?:in|from|based\s+in)\s+[A-Z]|[,.;:!?]|$)",
    re.IGNORECASE,
)
_AUDIENCE_RE = re.compile(
    r"\b(?:target(?:ed)?\s+audience|audience|target(?:ing)?|aimed\s+at|designed\s+for|made\s+for|built\s+for|speak(?:ing)?\s+to|for(?=\s+busy\b))\s*(?:is|are|:|-)?\s*(?P<audience>(?:[^.;!?\n]|\.(?=\d))+)",
    re.IGNORECASE,
)
_BENEFIT_LEAD_RE = re.compile(
    r"\b(?:highlight(?:ing|s)?|emphasi[sz]e(?:s)?|showcase(?:s)?|focus(?:ing)?\s+on|feature(?:s)?|mention(?:s)?|"
    r"key\s+(?:benefits?|features?|selling\s+points?|messages?)|benefits?|usps?|selling\s+points?|stress(?:es)?)\b"
    r"\s*(?:is|are|include|:|-)?\s*(?P<benefits>(?:[^.!?\n]|\.(?=\d))+)",
    re.IGNORECASE,
)
# "the best laptop for students": a product and who it is for.
_OFFER_RE = re.compile(
    r"\b(?:best|perfect|ideal|new|smart|only|first)\s+(?P<product>[A-Za-z][\w -]{1,40}?)\s+for\s+(?P<audience>[A-Za-z][\w -]{1,60})",
    re.IGNORECASE,
)
_TONE_RE = re.compile(r"\b(?:tone|mood|feel|vibe|voice)\s*(?:is|should\s+be|:|-)\s*(?P<tone>[^.!?\n]+)", re.IGNORECASE)
_CTA_RE = re.compile(
    r"\b(?:call[\s-]+to[\s-]+action|cta|end\s+(?:with|on)|close\s+with|ask\s+(?:viewers|people|them)\s+to)\s*(?:is|should\s+be|:|-)?\s*[\"“']?(?P<cta>(?:[^\"”.!?\n]|\.(?=\w))+)",
    re.IGNORECASE,
)
CLAUSE_VERBS = frozenset(
    "gives give helps help lets let saves save makes make cuts cut turns turn delivers deliver provides provide "
    "brings bring offers offer means mean is are can will runs run keeps keep puts put takes take boosts boost "
    "doubles double grows grow removes remove handles handle builds build automates automate "
    "replaces replace unlocks unlock frees scales connects connect protects protect".split()
)


def analyze_brief(request: JobRequest) -> BriefAnalysis:
    """Pull brand, product, audience, benefits, tone, call to action, palette and language out of a brief."""
    brief = " ".join(request.brief.split())
    fallbacks: list[str] = []
    language = detect_cjk_language(brief) or "en"

    profile = _resolve_industry(request.industry, fallbacks)
    style = _resolve_style(request.style, brief, profile, fallbacks)
    colours = find_colours(brief)
    palette = build_palette(colours, style)
    outcome = "leaves it out" if colours else f"uses the {style} style's colours"
    for phrase in find_unrecognised_colours(brief):
        fallbacks.append(f"The colour {phrase!r} in the brief is not a known colour name, so the palette "
                         f"{outcome}; name it with a common colour word.")
    for phrase, fix in find_invalid_exact_colours(brief):
        fallbacks.append(f"The colour {phrase!r} in the brief is not a valid colour code, so the palette {outcome}; {fix}.")

    offer = Offer("", "")
    if language == "en":
        brand, product = _find_brand_and_product(brief)
        audience = _find_audience(brief)
        offer = find_offer(brief)
        benefits = _find_benefits(brief, brand, product, offer.text)
        tone = _find_tone(brief)
        call_to_action = _find_call_to_action(brief)
    else:
        brand, product, audience, benefits = _read_cjk_brief(brief, language)
        defaults = _CJK_DEFAULTS[language]
        tone, call_to_action = defaults["tone"], defaults["call_to_action"]
        product = product or defaults["product"]
        if not audience:
            audience = defaults["audience"]
            fallbacks.append(f"The brief names no audience, so the copy speaks to {audience!r}.")
        if not brand:
            brand = defaults["brand"]
            fallbacks.append(f"The brief names no brand, so the copy calls it {brand!r}.")

    if not brand:
        brand = fallback_brand(product or profile.category)
        fallbacks.append(f"The brief names no brand, so the copy calls it {brand!r}.")
    if not product:
        product = profile.category
    if not audience:
        audience = profile.audience
        fallbacks.append(f"The brief names no audience, so the copy speaks to {audience!r}.")
    vocabulary = copy_profile(product, profile.name)
    if not benefits:
        benefits = vocabulary.benefits
        fallbacks.append(f"The brief names no benefits, so the copy uses {vocabulary.name} defaults.")
    if not tone:
        tone = _STYLE_TONES.get(style, "confident")
    if not call_to_action:
        call_to_action = _pick(vocabulary.calls_to_action, brief)
    call_to_action = with_offer(call_to_action, offer)
    voice_style = _resolve_voice_style(request.voice_style, tone, style, fallbacks)

    analysis = BriefAnalysis(
        brand=brand,
        product=product,
        audience=audience,
        benefits=benefits,
        tone=tone,
        call_to_action=call_to_action,
        palette=palette,
        industry=profile.name,
        style=style,
        voice_style=voice_style,
        language=language,
        fallbacks=tuple(fallbacks),
    )
    logger.info("brief analysed: brand=%r style=%s industry=%s language=%s colours=%s",
                brand, style, profile.name, language, palette.named)
    return analysis


def _pick(options: tuple[str, ...], key: str) -> str:
    """Choose one option by a stable hash of `key`, so the same brief always gets the same choice."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _resolve_industry(industry: str, fallbacks: list[str]) -> IndustryProfile:
    key = _industry_key(industry or "technology")
    name = _INDUSTRY_ALIASES.get(key, key)
    if name in _INDUSTRIES:
        return _INDUSTRIES[name]
    fallbacks.append(f"Industry {industry!r} is not one of {', '.join(n for n in _INDUSTRIES if n != 'general')}, so general wording was used.")
    return _INDUSTRIES["general"]


def _resolve_style(requested: str | None, brief: str, profile: IndustryProfile, fallbacks: list[str]) -> str:
    if requested is not None and requested.strip():
        style = requested.strip().lower()
        if style in STYLES:
            return style
        inferred = _style_from_brief(brief) or profile.default_style
        fallbacks.append(f"Style {requested!r} is not one of {', '.join(STYLES)}, so {inferred!r} was used.")
        return inferred
    return _style_from_brief(brief) or profile.default_style


def _style_from_brief(brief: str) -> str | None:
    lowered = brief.lower()
    best: tuple[int, int, str] | None = None
    for order, (style, keywords) in enumerate(_STYLE_KEYWORDS.items()):
        hits = sum(len(re.findall(rf"\b{re.escape(word)}\b", lowered)) for word in keywords)
        if hits and (best is None or hits > best[0]):
            best = (hits, -order, style)
    return best[2] if best else None


def _resolve_voice_style(requested: str | None, tone: str, style: str, fallbacks: list[str]) -> str:
    if requested is not None and requested.strip():
        voice_style = requested.strip().lower()
        if voice_style in VOICE_STYLES:
            return voice_style
        fallbacks.append(f"Voice style {requested!r} is not one of {', '.join(VOICE_STYLES)}, so {DEFAULT_VOICE_STYLE!r} was used.")
        return DEFAULT_VOICE_STYLE
    tone_words = re.findall(r"[a-z]+", tone.lower())
    for voice_style, words in _VOICE_FROM_TONE.items():
        if any(word in words for word in tone_words):
            return voice_style
    return {"cyberpunk": "energetic", "playful": "energetic", "luxury": "calm", "cinematic": "authoritative"}.get(style, DEFAULT_VOICE_STYLE)


def fallback_brand(product: str) -> str:
    """Return the name the copy uses for a brief that names no brand: "This platform".

    It is written for the start of a sentence, and copy that puts it mid-sentence lower-cases "This".
    """
    return f"This {product}".strip()


def _clean_phrase(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" \t,;:-\"“”'")
    return text


def _find_brand_and_product(brief: str) -> tuple[str, str]:
    brand = ""
    product = ""
    # "an ad for an AI scheduling platform" names no brand, but its words describe the product.
    described = ""
    for pattern in _BRAND_PATTERNS:
        match = pattern.search(brief)
        if not match:
            continue
        candidate = _trim_brand(match.group("brand"))
        if candidate:
            brand = candidate
            product = _find_product(brief[match.end("brand"):])
            break
        described = described or _find_product(match.group("brand"))
    if not brand:
        brand = _first_proper_noun(brief)
        if brand:
            product = _find_product(brief[brief.find(brand) + len(brand):])
    if not product:
        product = described
    if not product:
        offer = _OFFER_RE.search(brief)
        product = _clean_phrase(offer.group("product")) if offer else ""
    return brand, product


# Acronyms and trade terms that describe a product ("an AI scheduling platform", "a B2B CRM") but never
# name one on their own. After a name they stay part of it: "Barrios AI".
_GENERIC_TERMS = frozenset(
    "AI ML LLM GPT SEO SEM CRM ERP CMS LMS HR IT B2B B2C D2C DTC SaaS PaaS IaaS API APIs SDK IoT VR AR XR EV "
    "GPS LED LCD OLED UV USB NFT POS SMS PDF CBD DIY HVAC ETF KPI KPIs ROI SMB SMBs SME SMEs QA UX UI 3D 4K 5G "
    "8K HD TV PC".split()
)
# Words that join the parts of one name: "Kiln & Co", "Kiln and Co", "Bank of America".
_NAME_JOINERS = ("&", "and", "of")


def _trim_brand(candidate: str) -> str:
    words = _clean_phrase(candidate).split()
    described = bool(words) and words[0].lower() in ("a", "an")
    # Drop a leading article or instruction word, then keep the capitalised run.
    while words and words[0].lower() in ("a", "an", "the", "our", "my", "new", "brand"):
        words = words[1:]
    kept: list[str] = []
    for word in words:
        if kept and not (word[:1].isupper() or word[:1].isdigit() or word in _NAME_JOINERS):
            break
        kept.append(word)
    while kept and kept[-1] in _NAME_JOINERS:
        kept.pop()
    if not kept or not (kept[0][:1].isupper() or kept[0][:1].isdigit()):
        return ""
    # "an XYZ widget": an all-capitals word between "a" or "an" and a lower-case noun describes the widget.
    followed_by_noun = len(words) > len(kept) and words[len(kept)][:1].islower()
    if described and followed_by_noun and all(word.isupper() for word in kept):
        return ""
    return " ".join(_strip_generic_terms(kept))[:60]


def _strip_generic_terms(run: list[str]) -> list[str]:
    """Drop the acronyms and joiners that open a run of capitalised words: "AI Barrios" keeps "Barrios"."""
    while run and (run[0] in _GENERIC_TERMS or run[0] in _NAME_JOINERS):
        run = run[1:]
    return run


_SENTENCE_END_RE = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMrs\.)(?<!\bProf\.)(?<=[.!?])\s+")
_TITLES = frozenset({"Dr.", "Mr.", "Mrs.", "Ms.", "Prof.", "St."})


def _first_proper_noun(brief: str) -> str:
    """Return the first name in the brief: a run of capitalised words, or a sentence's opening words that a definition follows."""
    for sentence in _SENTENCE_END_RE.split(brief):
        words = sentence.split()
        leading = _leading_brand(words)
        if leading:
            return leading
        index = 1
        while index < len(words):
            run, end = _capitalised_run(words, index)
            name = _strip_generic_terms(run)
            if name:
                return " ".join(name)
            index = max(end, index + 1)
    return ""


def _capitalised_run(words: list[str], start: int) -> tuple[list[str], int]:
    """Return the run of capitalised words from `start` ("Kiln & Co", "Barrios A2I") and the index after it.

    The run is empty when the word at `start` is not capitalised or is an instruction word. A word with
    punctuation after it ("Brightly,") ends the run.
    """
    word = words[start]
    clean = word if word in _TITLES else word.strip(",.;:!?\"'()")
    if not clean[:1].isupper() or clean.lower() in _INSTRUCTION_WORDS:
        return [], start + 1
    run = [clean]
    index = start + 1
    ended = word != clean and word not in _TITLES
    while index < len(words) and not ended:
        following = words[index]
        following_clean = following.strip(",.;:!?\"'()")
        if following_clean in _NAME_JOINERS and index + 1 < len(words) and words[index + 1][:1].isupper():
            run.append(following_clean)
            index += 1
            continue
        mixed = bool(re.fullmatch(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+", following_clean))
        if not (following_clean[:1].isupper() or mixed):
            break
        run.append(following_clean)
        index += 1
        ended = following != following_clean
    return run, index


# Sentence openers that are labels, pronouns or quantifiers, never a brand: "Product: a lamp", "Everyone makes ...".
_NOT_LEADING_NAMES = frozenset(
    "product products brand company app name client service offer offers benefit benefits feature features goal "
    "goals length duration format platform message headline tagline slogan price pricing everyone everybody "
    "someone somebody nobody nothing everything something he she they you we i it this that these those there "
    "here who what why how when where each every all most many some no today now".split()
)


def _leading_brand(words: list[str]) -> str:
    """Return the name that opens a sentence and is then defined, or "" if the sentence opens otherwise.

    A sentence's first word is capitalised whatever it is, so the opening run counts as a name only when
    a definition follows it: "Brightly is a smart lamp", "Brightly: the lamp that ...", "Brightly, a lamp",
    "Brightly - a lamp". A run of several words, or one with "&", capitals or digits inside, also counts when
    a feature verb follows ("Kiln & Co makes mugs", "AT&T keeps you connected").
    """
    # NOTE: a common noun that opens a definition ("Sleep is a luxury.") is still read as a brand. A single
    # plain word before a verb ("Brightly wakes you gently") is not, because common nouns open such
    # sentences as often ("Coffee makes mornings better").
    if not words or words[0].strip(",:").lower() in _NOT_LEADING_NAMES:
        return ""
    run, end = _capitalised_run(words, 0)
    name = _strip_generic_terms(run)
    if not name or name != run:
        return ""
    rest = [word.lower() for word in words[end:end + 3]]
    articles = ("a", "an", "the")
    last = words[end - 1]
    if last.endswith((":", ",")):
        defined = bool(rest) and rest[0] in articles
    elif rest[:1] and rest[0] in ("-", "\u2013", "\u2014", "is", "was"):
        defined = len(rest) > 1 and rest[1] in articles
    else:
        compound = len(run) > 1 or bool(re.search(r"[&\d]|.[A-Z]", run[0]))
        defined = compound and bool(rest) and rest[0] in FEATURE_VERBS
    return " ".join(run) if defined else ""


def _find_product(after_brand: str) -> str:
    match = _PRODUCT_RE.match(after_brand)
    if not match:
        return ""
    product = _clean_phrase(match.group("product"))
    return product if 0 < len(product.split()) <= 8 else ""


def _find_audience(brief: str) -> str:
    match = _AUDIENCE_RE.search(brief)
    if not match:
        for phrase in _FOR_PHRASE_RE.finditer(brief):
            audience = _audience_after_for(phrase.group("phrase"))
            if audience:
                return audience
        offer = _OFFER_RE.search(brief)
        return _clean_phrase(offer.group("audience")) if offer else ""
    audience = _clean_phrase(match.group("audience"))
    audience = re.split(r"\s+(?:who|that|with a|with an)\s+", audience)[0] if len(audience.split()) > 12 else audience
    return audience


# "for night-shift nurses", "For collectors who value craft": what follows "for", up to a comma or the sentence end.
_FOR_PHRASE_RE = re.compile(r"\bfor\s+(?P<phrase>[^.,;:!?()\n]+)", re.IGNORECASE)
# Plural nouns for groups of people that the suffix rule below does not catch.
_PEOPLE_NOUNS = frozenset(
    "people parents kids children families moms mums dads mothers fathers grandparents women men girls boys teens "
    "nurses professionals teams couples friends folks adults millennials creatives athletes chefs nomads pros "
    "experts fans guests singles newlyweds retirees staff crews coaches startups businesses companies brands "
    "agencies schools clinics restaurants paramedics medics locals individuals pet-owners vets veterans".split()
)
# Agent-noun endings ("collectors", "renters", "cyclists", "musicians", "residents", "retirees").
_PEOPLE_SUFFIX_RE = re.compile(r"[a-z-]{2,}(?:ers|ors|ists|ians|ants|ents|ees)$")
# Words with a people-noun ending that name things, not people.
_NOT_PEOPLE = frozenset(
    "others orders offers papers numbers letters corners centers centres filters computers containers stickers "
    "posters flowers layers answers matters chapters dinners burgers summers winters waters headphones events "
    "moments payments documents comments accents segments treatments investments apartments garments supplements "
    "elements components ingredients plants pants variants lists wrists playlists checklists twists fees trees "
    "degrees coffees knees doors floors colors errors sensors monitors mirrors interiors outdoors indoors factors "
    "sectors motors tractors flavors favors".split()
)
# Words that end an audience's modifiers: "for use by nurses" is not an audience.
_NOT_MODIFIERS = frozenset(
    "a an the this that these those your our my its their his her every each all any some by with to of in on at "
    "from as than is are was be it them you yourself us me free less more now just only up who whose which".split()
)
# Maximum audience length in words. A longer "who ..." clause is dropped and the group before it kept.
_MAX_AUDIENCE_WORDS = 12


def _is_people_noun(word: str) -> bool:
    lowered = word.lower()
    if not word[:1].islower() or lowered in _NOT_PEOPLE:
        return False
    return lowered in _PEOPLE_NOUNS or bool(_PEOPLE_SUFFIX_RE.fullmatch(lowered))


def _audience_after_for(phrase: str) -> str:
    """Return the audience in the words after "for", or "" if they name no group of people.

    The words must be a plural people noun with up to four modifiers ("night-shift nurses"), optionally
    joined to a second group by "and" or "or", optionally followed by a "who" clause. A plural noun
    that is not on the people list still counts when a "who" clause follows it ("for moms who run").
    Durations, prices, products and names ("for 30 seconds", "for free", "for a lamp", "for Brightly")
    never match: they start with a number or determiner, or have no lowercase plural head.
    """
    words = phrase.split()
    if not words or words[0][:1].isdigit() or words[0].lower() in _NOT_MODIFIERS:
        return ""
    head = _people_group_end(words, 0)
    if head is None:
        return ""
    end = head + 1
    if end + 1 < len(words) and words[end].lower() in ("and", "or", "&"):
        second = _people_group_end(words, end + 1)
        if second is not None:
            end = second + 1
    if end < len(words) and words[end].lower() in ("who", "whose") and len(words) <= _MAX_AUDIENCE_WORDS:
        end = len(words)
    return " ".join(words[:end])


def _people_group_end(words: list[str], start: int) -> int | None:
    """Return the index of the people noun that ends the group starting at `start`, or None if there is none."""
    for index in range(start, min(start + 5, len(words))):
        word = words[index]
        if word.lower() in _NOT_MODIFIERS or word.lower() in ("and", "or", "&"):
            return None
        followed_by_who = index + 1 < len(words) and words[index + 1].lower() in ("who", "whose")
        plural = word[:1].islower() and word.lower().endswith("s") and not word.lower().endswith("ss")
        if _is_people_noun(word) or (followed_by_who and plural):
            return index
    return None


def _find_benefits(brief: str, brand: str, product: str, offer: str) -> tuple[str, ...]:
    """Collect benefits and features from every place a brief tends to put them, in the order they appear.

    Sources: a lead word ("Highlight ...", "Key benefits: a, b, c"), the product's own description
    ("a smart ring that tracks sleep" or "a lamp with sunrise mode"), "so you can ..." purposes,
    sentences whose subject is the product ("It helps ...") and bare feature lists ("Free wifi, quiet corners.").
    """
    found: list[tuple[int, str]] = []
    for match in _BENEFIT_LEAD_RE.finditer(brief):
        text = _clean_phrase(match.group("benefits"))
        text = re.sub(r"^(?:how|that|the fact that|its|their)\s+", "", text, flags=re.IGNORECASE)
        found.extend((match.start(), part) for part in _split_benefit_list(text) if not _is_tone_only(part))
    for sentence_start, sentence in _sentences(brief):
        if offer and offer in sentence or _is_instruction_sentence(sentence) and not _names_product(sentence, brand, product):
            continue
        found.extend(
            (sentence_start + offset, part)
            for offset, part in _sentence_benefits(sentence, brand, product)
            if not _is_style_phrase(part)
        )
    benefits: list[str] = []
    for _, part in sorted(found, key=lambda item: item[0]):
        part = _clean_phrase(part)
        if len(part.split()) < 2:
            continue
        if any(part.lower() in kept.lower() or kept.lower() in part.lower() for kept in benefits):
            continue
        benefits.append(part)
    return tuple(benefits[:6])


# Verbs that open a feature phrase written without its subject: "tracks sleep", "helps teams ship".
FEATURE_VERBS = frozenset(
    "tracks monitors measures logs counts syncs reminds detects predicts analyses analyzes answers cleans brews "
    "roasts ships delivers plans books sends shows learns fits finds matches pays sorts writes schedules "
    "gives helps lets saves makes cuts turns provides brings offers keeps puts takes boosts removes handles "
    "builds automates replaces unlocks frees scales connects protects runs serves grows lowers earns fades calms "
    "smooths soothes hydrates brightens firms repairs rescues feeds teaches guides wakes charges".split()
)
_SENTENCE_SPLIT_RE = re.compile(r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMrs\.)(?<=[.!?])\s+")
_STYLE_WORDS_RE = re.compile(r"\b(?:tone|colou?rs?|palette|aesthetic|style|vibe|mood|font|music|voice|audience|seconds?|video)\b", re.IGNORECASE)
_INSTRUCTION_START_RE = re.compile(
    r"^(?:create|make|produce|write|generate|build|design|promote|launch|introduce|introducing|meet|announce|show|"
    r"highlight|focus|emphasi[sz]e|mention|use|end|close|target|tone|style|a|an|the)\b",
    re.IGNORECASE,
)


def _sentences(brief: str) -> list[tuple[int, str]]:
    spans: list[tuple[int, str]] = []
    cursor = 0
    for sentence in _SENTENCE_SPLIT_RE.split(brief):
        start = brief.find(sentence, cursor)
        cursor = start + len(sentence)
        spans.append((start, sentence))
    return spans


def _is_instruction_sentence(sentence: str) -> bool:
    return bool(_INSTRUCTION_START_RE.match(sentence.strip())) or ":" in sentence


def _names_product(sentence: str, brand: str, product: str) -> bool:
    return bool(brand and brand in sentence) or bool(product and product.lower() in sentence.lower())


def _is_style_phrase(text: str) -> bool:
    """Return True for tone, colour and format words that describe the ad, not the product."""
    return bool(_STYLE_WORDS_RE.search(text) or find_colours(text)) or _is_tone_only(text)


def _is_tone_only(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    return bool(words) and all(word in _TONE_WORDS or word in ("and", "but", "yet", "very") for word in words)


def _sentence_benefits(sentence: str, brand: str, product: str) -> list[tuple[int, str]]:
    """Return (offset, benefit) pairs from one sentence of the brief that is not a plain instruction."""
    body = sentence.rstrip(" .!?")
    results: list[tuple[int, str]] = []
    product_at = body.lower().find(product.lower()) if product else -1
    if product_at >= 0:
        after = body[product_at + len(product):]
        offset = product_at + len(product)
        # "a smart ring that tracks sleep, heart rate and recovery for busy parents"
        relative = re.match(r"\s*,?\s*(?:that|which)\s+(?P<feature>[a-z][^;:]*)", after)
        if relative:
            feature = _cut_audience_tail(relative.group("feature"))
            if is_feature_verb(feature.split()[0]):
                results.append((offset + relative.start("feature"), feature))
        # "a lamp with sunrise mode and sixteen million colours"
        with_list = re.search(r"\bwith\s+(?P<features>[^;:]+)", after)
        if with_list:
            features = _cut_audience_tail(re.split(r"\s+(?:that|which|so)\s+", with_list.group("features"))[0])
            results.extend((offset + with_list.start("features"), part) for part in _split_benefit_list(features))
    purpose = re.search(r"\bso\s+(?:that\s+)?(?P<purpose>(?:you|your|teams|families|people)\b[^;:]+)", body, re.IGNORECASE)
    if purpose:
        results.append((purpose.start("purpose"), _cut_audience_tail(purpose.group("purpose"))))
    subjects = "(?i:it|this|they|we)" + (f"|{re.escape(brand)}" if brand else "")
    subject = re.match(rf"^(?:{subjects})\s+(?P<verb>[a-z]+)\s+(?P<rest>.+)$", body)
    if subject and is_feature_verb(subject.group("verb")) and not _is_instruction_sentence(body):
        results.append((subject.start("verb"), f"{subject.group('verb')} {subject.group('rest')}"))
    elif not results and not _is_instruction_sentence(body) and not is_clause(body) and not (brand and brand in body):
        # A bare list of features: "Fresh single-origin beans roasted daily, free wifi, quiet corners."
        parts = [part for part in re.split(r"\s*[,;]\s*(?:and\s+|or\s+)?|\s+and\s+(?=[a-z0-9$])", body) if part.strip()]
        if len(parts) >= 2 and not _is_style_phrase(body):
            results.extend((body.find(part), part) for part in parts)
    return results


def is_feature_verb(word: str) -> bool:
    """Return True for a third-person verb that opens a feature ("tracks", "rescues"), judged by form when unlisted."""
    lowered = word.lower()
    return lowered in FEATURE_VERBS or (lowered.endswith("s") and not lowered.endswith("ss") and lowered not in ("is", "was", "has", "its", "this"))


def _cut_audience_tail(text: str) -> str:
    """Drop a trailing "for busy parents" from a feature: the audience is read separately."""
    return re.sub(r"\s+for\s+(?:busy\s+|the\s+)?[a-z][\w -]*$", "", text.strip()) if re.search(r"\s+for\s+[a-z][\w -]*s$", text.strip()) else text.strip()


def _split_benefit_list(text: str) -> list[str]:
    """Split "fast setup, fair prices and 24/7 support" into its items; keep a full clause in one piece."""
    if is_clause(text) and "," not in text and ";" not in text:
        return [text]
    parts = re.split(r"\s*[,;]\s*(?:and\s+|or\s+)?|\s+and\s+(?=[a-z0-9$])", text)
    if any(len(part.split()) < 2 for part in parts) and is_clause(text):
        return [text]
    return parts


def is_clause(text: str) -> bool:
    """Return True if `text` reads as a clause with its own verb ("AI gives startups scale") rather than a noun phrase."""
    words = re.findall(r"[A-Za-z'-]+", text.lower())
    return any(word in CLAUSE_VERBS for word in words[1:])


def _find_tone(brief: str) -> str:
    match = _TONE_RE.search(brief)
    source = match.group("tone") if match else brief
    words = [word for word in _TONE_WORDS if re.search(rf"\b{word}\b", source, re.IGNORECASE)]
    words.sort(key=lambda word: source.lower().find(word))
    return ", ".join(words[:3])


def _find_call_to_action(brief: str) -> str:
    match = _CTA_RE.search(brief)
    if match:
        return _sentence_case(_clean_phrase(match.group("cta")))
    verbs = "|".join(re.escape(verb) for verb in _CTA_VERBS)
    quoted = re.search(rf"[\"“']((?:{verbs})\b[^\"”']{{2,60}})[\"”']", brief, re.IGNORECASE)
    if quoted:
        return _sentence_case(_clean_phrase(quoted.group(1)))
    closing = re.search(rf"(?:^|[.!?]\s+)((?:{verbs}|pre-order|preorder|donate|sign\s+up)\b[^.!?\n]{{2,60}})[.!?]?\s*$", brief, re.IGNORECASE)
    if closing and len(closing.group(1).split()) <= 8:
        return _sentence_case(_clean_phrase(closing.group(1)))
    return ""


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


# CJK briefs: the brand is a quoted name or a Latin-script name; benefits are the clauses that follow a
# "highlight" keyword, or else the brief's clauses after the first.
_CJK_QUOTES_RE = re.compile(r"[「『“\"《【]([^」』”\"》】]{1,30})[」』”\"》】]")
_LATIN_NAME_RE = re.compile(r"[A-Z][A-Za-z0-9&'.-]*(?:\s+[A-Z0-9][A-Za-z0-9&'.-]*){0,3}")
_CJK_BENEFIT_KEYS = {
    "zh": ("突出", "强调", "亮点", "卖点", "特点", "优势", "重点"),
    "ja": ("強調", "特徴", "アピール", "魅力", "ポイント", "伝え"),
    "ko": ("강조", "특징", "장점", "강점", "포인트"),
}
_CJK_AUDIENCE_KEYS = {
    "zh": ("目标受众", "目标用户", "受众", "面向", "针对"),
    "ja": ("ターゲット", "対象", "向け"),
    "ko": ("타깃", "타겟", "대상"),
}

# "为X打造", "Xのための", "X을 위한": the audience a product is made for.
_CJK_AUDIENCE_MARKERS = {
    "zh": (re.compile(r"(?:专为|为|给)([^，,。]{2,16}?)(?:打造|设计|准备)"),),
    "ja": (re.compile(r"([^、。「」\s]{2,16}?)(?:のための|向けの|向け)"),),
    "ko": (re.compile(r"([가-힣\s]{2,16}?)(?:을|를)?\s*위한"),),
}

_CJK_DEFAULTS: dict[str, dict[str, str]] = {
    "zh": {"tone": "自信、真诚", "call_to_action": "立即行动", "product": "产品", "audience": "追求更好生活的你", "brand": "我们的品牌"},
    "ja": {"tone": "自信、誠実", "call_to_action": "今すぐチェック", "product": "商品", "audience": "毎日を大切にするあなた", "brand": "私たちのブランド"},
    "ko": {"tone": "자신감, 진정성", "call_to_action": "지금 바로 만나보세요", "product": "제품", "audience": "더 나은 하루를 원하는 당신", "brand": "우리 브랜드"},
}


def _read_cjk_brief(brief: str, language: str) -> tuple[str, str, str, tuple[str, ...]]:
    quoted = _CJK_QUOTES_RE.search(brief)
    latin = _LATIN_NAME_RE.search(brief)
    brand = quoted.group(1).strip() if quoted else (latin.group(0).strip() if latin else "")
    clauses = [clause.strip() for clause in re.split(r"[。！？!?；;\n]|\.(?:\s|$)", brief) if clause.strip()]
    audience = ""
    for marker in _CJK_AUDIENCE_MARKERS[language]:
        found = marker.search(brief)
        if found:
            audience = found.group(1).strip()
            break
    for clause in clauses if not audience else ():
        for key in _CJK_AUDIENCE_KEYS[language]:
            if key in clause:
                audience = re.split(r"[:：是为は는은]", clause.split(key, 1)[1], maxsplit=1)[-1].strip(" ：:，,、")
                break
        if audience:
            break
    benefits: list[str] = []
    for clause in clauses:
        if any(key in clause for key in _CJK_BENEFIT_KEYS[language]):
            body = re.split(r"[:：]", clause, maxsplit=1)[-1]
            for key in _CJK_BENEFIT_KEYS[language]:
                body = body.replace(key, "")
            benefits.extend(part.strip() for part in re.split(r"[，,、和与及]", body) if len(part.strip()) >= 2)
    if not benefits:
        benefits = [re.split(r"[，,]", clause)[-1].strip() for clause in clauses[1:3] if clause]
    return brand, "", audience[:40], tuple(dict.fromkeys(benefit for benefit in benefits if benefit))[:5]
