"""What seeded products are made of: the category tree, nouns and words per category, the
options their variants differ by, price ranges, and the seasonal items of each month."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Leaf:
    """A category products are filed under: what it sells and in which price range."""

    slug: str
    name: str
    nouns: tuple[str, ...]
    words: tuple[str, ...]
    # Base price range in euro cents; weight range in grams.
    price_eur: tuple[int, int]
    weight_g: tuple[int, int]
    option: str


@dataclass(frozen=True)
class Root:
    slug: str
    name: str
    leaves: tuple[Leaf, ...]


OPTION_VALUES: dict[str, tuple[str, ...]] = {
    "size": ("XS", "S", "M", "L", "XL"),
    "color": ("black", "white", "sand", "forest", "navy", "rust", "grey"),
    "finish": ("oak", "walnut", "brass", "matte black", "white"),
    "capacity": ("small", "medium", "large"),
    "storage": ("64 GB", "128 GB", "256 GB"),
    "format": ("hardcover", "paperback"),
}

MATERIALS: tuple[str, ...] = (
    "Oak",
    "Linen",
    "Wool",
    "Cotton",
    "Steel",
    "Ceramic",
    "Walnut",
    "Bamboo",
    "Canvas",
    "Leather",
    "Glass",
    "Recycled",
)

TREE: tuple[Root, ...] = (
    Root(
        "home-living",
        "Home & Living",
        (
            Leaf(
                "lighting",
                "Lighting",
                ("Desk Lamp", "Pendant Light", "Floor Lamp", "Wall Sconce", "Table Lamp"),
                ("warm", "light", "bulb", "shade", "dimmable", "glow", "reading", "evening"),
                (2900, 24900),
                (800, 6000),
                "finish",
            ),
            Leaf(
                "kitchen",
                "Kitchen",
                ("Chef Knife", "Cast Iron Pan", "Pour-Over Kettle", "Cutting Board", "Saucepan"),
                ("cook", "blade", "heat", "kitchen", "meal", "handle", "steel", "everyday"),
                (1900, 14900),
                (300, 4000),
                "finish",
            ),
            Leaf(
                "textiles",
                "Textiles",
                ("Throw Blanket", "Cushion Cover", "Bath Towel", "Table Runner", "Duvet Cover"),
                ("soft", "weave", "wash", "cosy", "fabric", "texture", "natural", "layer"),
                (1900, 12900),
                (200, 2500),
                "color",
            ),
            Leaf(
                "decor",
                "Decor",
                ("Vase", "Candle Holder", "Wall Mirror", "Picture Frame", "Planter"),
                ("shelf", "display", "style", "room", "handmade", "glaze", "accent", "space"),
                (1400, 9900),
                (300, 5000),
                "finish",
            ),
        ),
    ),
    Root(
        "apparel",
        "Apparel",
        (
            Leaf(
                "tops",
                "Tops",
                ("Crew T-Shirt", "Oxford Shirt", "Merino Sweater", "Hoodie", "Polo Shirt"),
                ("fit", "cotton", "collar", "sleeve", "breathable", "layer", "soft", "cut"),
                (1900, 11900),
                (150, 800),
                "size",
            ),
            Leaf(
                "outerwear",
                "Outerwear",
                ("Rain Jacket", "Down Vest", "Field Coat", "Parka", "Wool Overcoat"),
                ("weather", "wind", "hood", "pockets", "warm", "seams", "shell", "winter"),
                (7900, 34900),
                (500, 2000),
                "size",
            ),
            Leaf(
                "footwear",
                "Footwear",
                ("Leather Boot", "Canvas Sneaker", "Trail Runner", "House Slipper", "Loafer"),
                ("sole", "grip", "comfort", "walk", "lace", "stitch", "support", "step"),
                (3900, 21900),
                (600, 1800),
                "size",
            ),
            Leaf(
                "accessories",
                "Accessories",
                ("Leather Belt", "Wool Beanie", "Canvas Tote", "Scarf", "Wallet"),
                ("carry", "buckle", "knit", "everyday", "pocket", "gift", "classic", "strap"),
                (1500, 8900),
                (100, 900),
                "color",
            ),
        ),
    ),
    Root(
        "outdoor",
        "Outdoor",
        (
            Leaf(
                "camping",
                "Camping",
                ("Trail Tent", "Sleeping Bag", "Camp Stove", "Headlamp", "Camp Chair"),
                ("trail", "night", "pack", "light", "shelter", "weather", "trip", "fire"),
                (2900, 39900),
                (300, 9000),
                "color",
            ),
            Leaf(
                "garden",
                "Garden",
                ("Pruning Shears", "Watering Can", "Raised Bed", "Garden Gloves", "Seed Tray"),
                ("grow", "soil", "plant", "season", "harvest", "roots", "bloom", "water"),
                (900, 19900),
                (100, 9500),
                "capacity",
            ),
            Leaf(
                "cycling",
                "Cycling",
                ("Bike Light", "Saddle Bag", "Cycling Helmet", "Bike Lock", "Water Bottle"),
                ("ride", "road", "commute", "safe", "reflective", "city", "wheel", "speed"),
                (1200, 14900),
                (100, 1500),
                "color",
            ),
        ),
    ),
    Root(
        "electronics",
        "Electronics",
        (
            Leaf(
                "audio",
                "Audio",
                ("Wireless Headphones", "Bluetooth Speaker", "Earbuds", "Turntable", "Soundbar"),
                ("sound", "bass", "battery", "music", "wireless", "noise", "listen", "clear"),
                (3900, 39900),
                (100, 6000),
                "color",
            ),
            Leaf(
                "mobile",
                "Phones & Tablets",
                ("E-Reader", "Tablet", "Phone Case", "Power Bank", "Charging Dock"),
                ("screen", "charge", "battery", "carry", "tap", "fast", "display", "pocket"),
                (1900, 49900),
                (80, 900),
                "storage",
            ),
            Leaf(
                "smart-home",
                "Smart Home",
                ("Smart Plug", "Thermostat", "Door Sensor", "Smart Bulb", "Air Monitor"),
                ("app", "schedule", "energy", "sensor", "automate", "home", "connect", "save"),
                (1900, 17900),
                (80, 800),
                "capacity",
            ),
        ),
    ),
    Root(
        "books-toys",
        "Books & Toys",
        (
            Leaf(
                "books",
                "Books",
                ("Cookbook", "Field Guide", "Novel", "Atlas", "Sketchbook"),
                ("story", "pages", "chapter", "recipes", "maps", "author", "read", "edition"),
                (900, 4900),
                (200, 1500),
                "format",
            ),
            Leaf(
                "games",
                "Games & Puzzles",
                ("Board Game", "Jigsaw Puzzle", "Card Game", "Wooden Blocks", "Chess Set"),
                ("play", "family", "players", "pieces", "evening", "strategy", "fun", "rules"),
                (1200, 8900),
                (200, 2500),
                "capacity",
            ),
        ),
    ),
)

# Seasonal items: what sells in a month (1-12), planted as `seasonal:<month>` products.
SEASONAL: dict[int, tuple[str, str]] = {
    1: ("textiles", "Winter Throw"),
    2: ("decor", "Valentine Candle Holder"),
    3: ("garden", "Seed Starter Kit"),
    4: ("garden", "Spring Bulb Planter"),
    5: ("cycling", "Spring Tune-Up Kit"),
    6: ("camping", "Summer Hammock"),
    7: ("camping", "Beach Tent"),
    8: ("accessories", "Sun Hat"),
    9: ("books", "Back-to-School Planner"),
    10: ("decor", "Harvest Lantern"),
    11: ("outerwear", "Winter Parka"),
    12: ("decor", "Advent Calendar"),
}
