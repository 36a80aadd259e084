"""Builds a `SeedPlan` from (profile, seed, scale, now), deterministically.

Faker (seeded by the run's seed) only fills pools: names and addresses per country, product
collections and descriptions per category. Everything bulky (customers, orders, lines) is then
drawn from those pools with one `random.Random(seed)`, so 200,000 orders take seconds.

Planted structure (docs/seed-data.md): best sellers (a skewed popularity, tag `bestseller`),
bundles bought together (tag `bundle:<n>`), seasonal items (tag `seasonal:<month>`) and more
orders in November and December.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from argon2 import Type
from argon2.low_level import hash_secret
from faker import Faker

from agora.auth.passwords import OWASP_MEMORY_KIB, OWASP_PARALLELISM, OWASP_TIME_COST
from agora.orders.domain import (
    DEFAULT_SHIPPING,
    DEFAULT_UNIT_WEIGHT_GRAMS,
    Address,
    ShippingOption,
    address_violations,
    shipping_options,
)
from agora.orders.seeding import with_totals
from agora.platform.seeding import (
    SEED_NAMESPACE,
    OrderOutcome,
    SeedAddress,
    SeedCategory,
    SeedOrder,
    SeedOrderLine,
    SeedPlan,
    SeedProduct,
    SeedUser,
    SeedVariant,
)
from agora.seed.logins import StaffLogin
from agora.seed.profiles import DATA_VERSION, OPEN_ORDER_SHARE, profile_named
from agora.seed.vocabulary import MATERIALS, OPTION_VALUES, SEASONAL, TREE, Leaf

# Country → (Faker locale, currency, share of customers in percent).
COUNTRIES: dict[str, tuple[str, str, int]] = {
    "DE": ("de_DE", "EUR", 28),
    "US": ("en_US", "USD", 18),
    "GB": ("en_GB", "GBP", 12),
    "FR": ("fr_FR", "EUR", 10),
    "NL": ("nl_NL", "EUR", 5),
    "IT": ("it_IT", "EUR", 5),
    "ES": ("es_ES", "EUR", 5),
    "JP": ("ja_JP", "JPY", 6),
    "AT": ("de_AT", "EUR", 4),
    "BE": ("nl_BE", "EUR", 4),
    "CH": ("de_CH", "CHF", 3),
}
CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY")
# Demo conversion of a euro price (minor units per euro cent; JPY has no minor unit).
PER_EUR_CENT = {"EUR": 1.0, "USD": 1.08, "GBP": 0.86, "CHF": 0.95, "JPY": 1.6}
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# Staff accounts: their passwords and TOTP secrets are random per data directory
# (`agora.seed.logins`), handed to `build_plan`; without them the accounts get neither.
ADMIN_EMAIL = "admin@agora.localhost"
STAFF_EMAIL = "staff@agora.localhost"
STAFF_ACCOUNTS = ((ADMIN_EMAIL, "admin"), (STAFF_EMAIL, "staff"))
CUSTOMER_PASSWORD = "agora-customer-dev"

POOL_SIZE = 400
IMAGE_BASE = "https://images.agora.localhost/products"
RESERVATION_TTL = timedelta(minutes=20)
OPEN_WINDOW_S = 600
EXPIRED_MIN_AGE = timedelta(hours=1)
# Orders per month (January first): a slow start of the year, the Black Friday and Christmas peak.
MONTH_WEIGHTS = (0.8, 0.75, 0.85, 0.9, 0.95, 0.9, 0.85, 0.85, 0.95, 1.05, 1.5, 1.7)
WEEKDAY_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 1.1)
BUNDLE_TAKE_RATE = 0.6
SEASONAL_LINE_SHARE = 0.25

# Outcome mix by the order's age: recent orders are still on their way, old ones are done.
_RECENT: tuple[tuple[OrderOutcome, int], ...] = (
    ("paid", 40),
    ("fulfilled", 25),
    ("shipped", 10),
    ("cancelled", 10),
    ("expired", 15),
)
_THIS_WEEK: tuple[tuple[OrderOutcome, int], ...] = (
    ("fulfilled", 10),
    ("shipped", 40),
    ("delivered", 30),
    ("cancelled", 7),
    ("expired", 10),
    ("refunded", 3),
)
_SETTLED: tuple[tuple[OrderOutcome, int], ...] = (
    ("delivered", 75),
    ("cancelled", 7),
    ("expired", 12),
    ("refunded", 6),
)
# Each outcome's later steps after `placed` (the refund comes after the last of them).
OUTCOME_PATHS: dict[OrderOutcome, tuple[str, ...]] = {
    "placed": (),
    "awaiting_payment": ("awaiting_payment",),
    "paid": ("awaiting_payment", "paid"),
    "fulfilled": ("awaiting_payment", "paid", "fulfilled"),
    "shipped": ("awaiting_payment", "paid", "fulfilled", "shipped"),
    "delivered": ("awaiting_payment", "paid", "fulfilled", "shipped", "delivered"),
    "cancelled": ("awaiting_payment", "cancelled"),
    "expired": ("awaiting_payment", "expired"),
    "refunded": ("awaiting_payment", "paid", "fulfilled", "shipped", "delivered", "refunded"),
}
# Seconds from the previous step to each step: (least, most).
STEP_DELAYS_S: dict[str, tuple[int, int]] = {
    "awaiting_payment": (1, 5),
    "paid": (30, 600),
    "fulfilled": (3_600, 172_800),
    "shipped": (3_600, 86_400),
    "delivered": (86_400, 432_000),
    "cancelled": (60, 600),
    "expired": (900, 900),
    "refunded": (86_400, 864_000),
}
COMMITTED: frozenset[OrderOutcome] = frozenset(
    ("paid", "fulfilled", "shipped", "delivered", "refunded")
)
OPEN: frozenset[OrderOutcome] = frozenset(("placed", "awaiting_payment"))


# The data versions this module can generate (and so clean up after).
GENERATORS = frozenset({1})


def build_plan(
    profile_name: str,
    *,
    seed: int,
    scale: float,
    now: datetime | None = None,
    data_version: int = DATA_VERSION,
    staff_logins: Mapping[str, StaffLogin] | None = None,
) -> SeedPlan:
    """The plan of a profile: the same inputs give the same plan (the clock included).

    `staff_logins` (by email) give the staff and admin accounts their password and TOTP secret;
    without them those accounts have no password and no TOTP, so nobody can log in as them.

    `data_version` names the generator: a recorded run is cleaned by generating its plan again
    with the version that wrote it, so a new version keeps the old one's generator reachable here
    (branch on `data_version`) for as long as databases seeded by it may exist.
    """
    if data_version not in GENERATORS:
        raise ValueError(
            f"seed data version {data_version} has no generator here (known: {sorted(GENERATORS)})"
        )
    profile = profile_named(profile_name)
    if scale <= 0:
        raise ValueError("scale must be positive")
    clock = profile.fixed_now or (now or datetime.now(UTC)).replace(microsecond=0)
    sizes = profile.sizes(scale)
    builder = _Builder(profile.name, seed, clock, staff_logins or {})
    plan = SeedPlan(
        profile=profile.name, data_version=data_version, seed=seed, scale=scale, now=clock
    )
    plan.categories = builder.categories()
    drafts = builder.products(sizes.products)
    plan.users = builder.users(sizes.customers)
    plan.orders = builder.orders(sizes.orders, drafts, plan.users)
    plan.products = builder.finish_products(drafts, plan.orders)
    return with_totals(plan)


@dataclass
class _DraftVariant:
    id: str
    sku: str
    title: str
    options: dict[str, str]
    prices: dict[str, int]
    weight_g: int


@dataclass
class _DraftProduct:
    n: int
    id: str
    slug: str
    title: str
    description: str
    category_id: str
    attributes: dict[str, str]
    image_urls: tuple[str, ...]
    variants: list[_DraftVariant]
    tags: list[str]


@dataclass(frozen=True)
class _Person:
    first: str
    last: str
    email_name: str
    address: SeedAddress


class _Builder:
    def __init__(
        self, profile: str, seed: int, now: datetime, staff_logins: Mapping[str, StaffLogin]
    ) -> None:
        self.profile = profile
        self.seed = seed
        self.now = now
        self.staff_logins = staff_logins
        self.random = random.Random(f"{profile}:{seed}")
        self.leaves: dict[str, tuple[Leaf, str]] = {}

    def _faker(self, locale: str) -> Faker:
        fake = Faker(locale)
        fake.seed_instance(zlib.crc32(f"{self.profile}:{self.seed}:{locale}".encode()))
        return fake

    def _id(self, entity: str, n: int | str) -> str:
        return fast_seed_id(self.profile, entity, n)

    def _between(self, low: int, high: int) -> int:
        """`randint(low, high)` at a fraction of its cost (the hot loops draw millions)."""
        return low + int(self.random.random() * (high - low + 1))

    # --- catalog ------------------------------------------------------------------------

    def categories(self) -> list[SeedCategory]:
        found = []
        for root in TREE:
            root_id = self._id("category", root.slug)
            found.append(SeedCategory(root_id, root.slug, root.name, None))
            for leaf in root.leaves:
                leaf_id = self._id("category", leaf.slug)
                found.append(SeedCategory(leaf_id, leaf.slug, leaf.name, root_id))
                self.leaves[leaf.slug] = (leaf, leaf_id)
        return found

    def products(self, count: int) -> list[_DraftProduct]:
        fake = self._faker("en_US")
        collections = sorted({fake.last_name() for _ in range(max(40, count // 20))})
        leaves = list(self.leaves.values())
        seasonal_count = max(len(SEASONAL), count // 20)
        drafts = []
        for n in range(count):
            if n < seasonal_count:
                month = n % 12 + 1
                leaf_slug, noun = SEASONAL[month]
                leaf, leaf_id = self.leaves[leaf_slug]
                tags = [f"seasonal:{month}"]
            else:
                leaf, leaf_id = leaves[n % len(leaves)]
                noun = self.random.choice(leaf.nouns)
                tags = []
            collection = self.random.choice(collections)
            material = self.random.choice(MATERIALS)
            title = f"{collection} {material} {noun}"
            slug = f"{_slugify(title)}-{n + 1}"
            sentence = fake.sentence(nb_words=10, ext_word_list=list(leaf.words))
            description = (
                f"{material} {noun.lower()} from the {collection} collection. "
                f"{sentence} {fake.sentence(nb_words=8, ext_word_list=list(leaf.words))}"
            )
            product_id = self._id("product", n)
            drafts.append(
                _DraftProduct(
                    n=n,
                    id=product_id,
                    slug=slug,
                    title=title,
                    description=description,
                    category_id=leaf_id,
                    attributes={"collection": collection.lower(), "material": material.lower()},
                    image_urls=tuple(
                        f"{IMAGE_BASE}/{slug}-{i}.jpg"
                        for i in range(1, self.random.randint(1, 4) + 1)
                    ),
                    variants=self._variants(n, leaf),
                    tags=tags,
                )
            )
        return drafts

    def _variants(self, n: int, leaf: Leaf) -> list[_DraftVariant]:
        values = OPTION_VALUES[leaf.option]
        count = self.random.choice((1, 2, 2, 3, 3, 4)) if len(values) > 1 else 1
        chosen = sorted(self.random.sample(range(len(values)), min(count, len(values))))
        low, high = leaf.price_eur
        base = self.random.randint(low // 100, high // 100) * 100 + 90
        variants = []
        for k, index in enumerate(chosen):
            value = values[index]
            eur = base + (index * 500 if leaf.option in ("storage", "capacity") else 0)
            variants.append(
                _DraftVariant(
                    id=self._id("variant", f"{n}:{k}"),
                    sku=f"{self.profile[:2].upper()}-{n + 1:06d}-{k + 1}",
                    title=value.capitalize(),
                    options={leaf.option: value},
                    prices=prices_for(eur),
                    weight_g=self.random.randint(*leaf.weight_g),
                )
            )
        return variants

    def finish_products(
        self, drafts: list[_DraftProduct], orders: list[SeedOrder]
    ) -> list[SeedProduct]:
        """Freeze the products, their stock set so that every seeded order fits: the shelf
        holds what committed orders left (initial minus committed), at least what open
        orders reserve."""
        committed: Counter[str] = Counter()
        reserved: Counter[str] = Counter()
        for order in orders:
            held = committed if order.outcome in COMMITTED else reserved
            if order.outcome in COMMITTED | OPEN:
                for line in order.lines:
                    held[line.variant_id] += line.quantity
        products = []
        for draft in drafts:
            sold_out = draft.n % 17 == 16
            variants = tuple(
                SeedVariant(
                    id=v.id,
                    product_id=draft.id,
                    sku=v.sku,
                    title=v.title,
                    options=v.options,
                    prices=v.prices,
                    on_hand=reserved[v.id] + (0 if sold_out else self.random.randint(5, 200)),
                    weight_g=v.weight_g,
                )
                for v in draft.variants
            )
            products.append(
                SeedProduct(
                    id=draft.id,
                    slug=draft.slug,
                    title=draft.title,
                    description=draft.description,
                    category_id=draft.category_id,
                    attributes=draft.attributes,
                    image_urls=draft.image_urls,
                    variants=variants,
                    tags=tuple(draft.tags),
                )
            )
        return products

    # --- people -------------------------------------------------------------------------

    def _people(self) -> dict[str, list[_Person]]:
        pools = {}
        for country, (locale, _, _) in COUNTRIES.items():
            fake = self._faker(locale)
            people: list[_Person] = []
            while len(people) < POOL_SIZE:
                person = _person(fake, country)
                if person is not None:
                    people.append(person)
            pools[country] = people
        return pools

    def users(self, customers: int) -> list[SeedUser]:
        pools = self._people()
        customer_hash = password_hash(CUSTOMER_PASSWORD, self.profile, self.seed)
        joined = self.now - timedelta(days=800)
        users = []
        for n, (email, role) in enumerate(STAFF_ACCOUNTS):
            person = pools["DE"][n]
            login = self.staff_logins.get(email)
            users.append(
                SeedUser(
                    id=self._id("user", email),
                    email=email,
                    name=f"{person.first} {person.last}",
                    roles=(role,),
                    address=person.address,
                    password_hash=staff_password_hash(login.password) if login else None,
                    created_at=joined,
                    totp_secret=login.totp_secret if login else "",
                )
            )
        countries = list(COUNTRIES)
        weights = list(itertools.accumulate(share for _, _, share in COUNTRIES.values()))
        for n in range(customers):
            country = self.random.choices(countries, cum_weights=weights)[0]
            person = self.random.choice(pools[country])
            domain = EMAIL_DOMAINS[n % len(EMAIL_DOMAINS)]
            email = f"{person.email_name}.{n + 1}@{domain}"
            name = f"{person.first} {person.last}"
            users.append(
                SeedUser(
                    id=self._id("user", n),
                    email=email,
                    name=name,
                    roles=("customer",),
                    address=SeedAddress(
                        name=name,
                        line1=person.address.line1,
                        city=person.address.city,
                        postal_code=person.address.postal_code,
                        country=country,
                        email=email,
                        region=person.address.region,
                        phone=person.address.phone,
                    ),
                    password_hash=customer_hash,
                    created_at=joined + timedelta(seconds=self.random.randint(0, 86_400 * 300)),
                )
            )
        return users

    # --- orders -------------------------------------------------------------------------

    def orders(
        self, count: int, products: list[_DraftProduct], users: list[SeedUser]
    ) -> list[SeedOrder]:
        customers = [u for u in users if "customer" in u.roles]
        picker = _ProductPicker(products, self.random)
        # A few loyal customers buy a lot: a Pareto-like weight per customer.
        customer_weights = list(
            itertools.accumulate(1.0 / (i + 1) ** 0.7 for i in range(len(customers)))
        )
        placed_times = self._placed_times(count)
        outcomes = self._outcomes(placed_times)
        orders = []
        for n, (placed_at, outcome) in enumerate(zip(placed_times, outcomes, strict=True)):
            customer = self.random.choices(customers, cum_weights=customer_weights)[0]
            orders.append(self._order(n, customer, placed_at, outcome, picker))
        return orders

    def _placed_times(self, count: int) -> list[datetime]:
        """`count` order times over the last year, seasonal; the open ones in the last minutes."""
        open_count = max(2, round(count * OPEN_ORDER_SHARE))
        days = list(range(1, 366))
        day_weights = list(
            itertools.accumulate(
                MONTH_WEIGHTS[(self.now - timedelta(days=d)).month - 1]
                * WEEKDAY_WEIGHTS[(self.now - timedelta(days=d)).weekday()]
                for d in days
            )
        )
        chosen_days = self.random.choices(days, cum_weights=day_weights, k=count - open_count)
        times = [
            self.now - timedelta(days=d, seconds=-self.random.randint(0, 86_399))
            for d in chosen_days
        ]
        times += [
            self.now - timedelta(seconds=self.random.randint(30, OPEN_WINDOW_S))
            for _ in range(open_count)
        ]
        times.sort()
        return times

    def _outcomes(self, placed_times: list[datetime]) -> list[OrderOutcome]:
        """Each order's outcome by its age; every outcome appears at least once."""
        outcomes: list[OrderOutcome] = []
        for placed_at in placed_times:
            age = self.now - placed_at
            if age <= timedelta(seconds=OPEN_WINDOW_S):
                outcomes.append(self.random.choice(("placed", "awaiting_payment")))
                continue
            table = (
                _RECENT
                if age < timedelta(days=1)
                else _THIS_WEEK
                if age < timedelta(days=7)
                else _SETTLED
            )
            names, weights = zip(*table, strict=True)
            outcome = self.random.choices(names, weights=weights)[0]
            # An invoice expires a quarter of an hour after it is issued: not before it.
            if outcome == "expired" and age < EXPIRED_MIN_AGE:
                outcome = "cancelled"
            outcomes.append(outcome)
        missing = [o for o in OUTCOME_PATHS if o not in outcomes]
        # Old orders can end in any closed outcome: hand the missing ones to the oldest orders.
        for index, outcome in enumerate(o for o in missing if o not in OPEN):
            outcomes[index] = outcome
        for index, outcome in enumerate(o for o in missing if o in OPEN):
            outcomes[-1 - index] = outcome
        return outcomes

    def _order(
        self,
        n: int,
        customer: SeedUser,
        placed_at: datetime,
        outcome: OrderOutcome,
        picker: _ProductPicker,
    ) -> SeedOrder:
        country = customer.address.country
        currency = COUNTRIES[country][1]
        chosen = picker.variants_for(placed_at.month)
        lines = tuple(
            SeedOrderLine(
                variant_id=variant.id,
                product_id=product.id,
                sku=variant.sku,
                title=f"{product.title} ({variant.title})"
                if len(product.variants) > 1
                else product.title,
                quantity=quantity,
                unit_price_minor=variant.prices[currency],
            )
            for product, variant, quantity in chosen
        )
        # Orders weigh every unit at the shop's default (the catalog keeps no weights); a
        # parcel too heavy for every method of the zone loses its last lines.
        options = []
        while lines:
            grams = sum(line.quantity for line in lines) * DEFAULT_UNIT_WEIGHT_GRAMS
            options = _shipping_options(country, currency, grams)
            if options:
                break
            lines = lines[:-1]
        method = options[0] if self.random.random() < 0.8 else options[-1]
        steps = self._steps(outcome, placed_at)
        return SeedOrder(
            id=self._id("order", n),
            customer_id=customer.id,
            currency=currency,
            lines=lines,
            address=customer.address,
            shipping_method=method.method.code,
            outcome=outcome,
            placed_at=placed_at,
            steps=steps,
            reservation_id=self._id("reservation", n),
            invoice_id=self._id("invoice", n),
        )

    def _steps(self, outcome: OrderOutcome, placed_at: datetime) -> tuple[datetime, ...]:
        """Times of the outcome's steps; squeezed to end before the plan's clock."""
        path = OUTCOME_PATHS[outcome]
        delays = [self._between(*STEP_DELAYS_S[step]) for step in path]
        room = (self.now - placed_at).total_seconds() - 1
        total = sum(delays)
        if total > room:
            delays = [max(1, int(d * room / total)) for d in delays]
            while sum(delays) > room and max(delays) > 1:
                delays[delays.index(max(delays))] -= 1
        steps = []
        at = placed_at
        for delay in delays:
            at += timedelta(seconds=delay)
            steps.append(at)
        return tuple(steps)


class _ProductPicker:
    """Draws an order's lines: popular products far more often (best sellers), a bundle's other
    products with the first, and the month's seasonal items in their month."""

    def __init__(self, products: list[_DraftProduct], rng: random.Random) -> None:
        self.random = rng
        ranked = products[:]
        rng.shuffle(ranked)
        self.ranked = ranked
        self.weights = list(
            itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(ranked)))
        )
        for product in ranked[: max(3, len(ranked) // 100)]:
            product.tags.append("bestseller")
        self.seasonal: dict[int, list[_DraftProduct]] = defaultdict(list)
        for product in products:
            for tag in product.tags:
                if tag.startswith("seasonal:"):
                    self.seasonal[int(tag.split(":")[1])].append(product)
        self.bundles: dict[str, list[_DraftProduct]] = {}
        self.bundle_leads: list[_DraftProduct] = []
        plain = [p for p in ranked[len(ranked) // 10 :] if not p.tags]
        bundle_count = max(2, len(products) // 60)
        for b in range(bundle_count):
            members = plain[b * 3 : b * 3 + self.random.choice((2, 3))]
            if len(members) < 2:
                break
            for product in members:
                product.tags.append(f"bundle:{b + 1}")
                self.bundles[product.id] = members
            # Bundles sell: their lead products are drawn often.
            self.bundle_leads.append(members[0])

    def _one(self, month: int) -> _DraftProduct:
        roll = self.random.random()
        if roll < SEASONAL_LINE_SHARE and self.seasonal.get(month):
            return self.random.choice(self.seasonal[month])
        if roll < SEASONAL_LINE_SHARE + 0.1 and self.bundle_leads:
            return self.random.choice(self.bundle_leads)
        return self.random.choices(self.ranked, cum_weights=self.weights)[0]

    def variants_for(self, month: int) -> list[tuple[_DraftProduct, _DraftVariant, int]]:
        wanted = self.random.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        products: list[_DraftProduct] = []
        while len(products) < wanted:
            product = self._one(month)
            products.append(product)
            if product.id in self.bundles and self.random.random() < BUNDLE_TAKE_RATE:
                products.extend(self.bundles[product.id])
        seen: set[str] = set()
        chosen = []
        for product in products:
            variant = self.random.choice(product.variants)
            if variant.id in seen:
                continue
            seen.add(variant.id)
            quantity = self.random.choices((1, 2, 3), weights=(80, 15, 5))[0]
            chosen.append((product, variant, quantity))
        chosen.sort(key=lambda c: c[1].id)
        return chosen


@lru_cache(maxsize=4096)
def _shipping_options(country: str, currency: str, grams: int) -> list[ShippingOption]:
    return shipping_options(DEFAULT_SHIPPING, country, currency, grams)


_SEED_NAMESPACE_BYTES = SEED_NAMESPACE.bytes


def fast_seed_id(profile: str, entity: str, n: int | str) -> str:
    """`seed_id` without `uuid.UUID`'s overhead: the same UUIDv5, computed for 10^6 rows."""
    digest = bytearray(
        hashlib.sha1(_SEED_NAMESPACE_BYTES + f"{profile}:{entity}:{n}".encode()).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def prices_for(eur_minor: int) -> dict[str, int]:
    """A euro price and its demo conversions, rounded the way a shop shows them (x.90; yen to
    tens)."""
    found = {}
    for currency in CURRENCIES:
        converted = eur_minor * PER_EUR_CENT[currency]
        if currency == "JPY":
            found[currency] = max(10, int(round(converted, -1)))
        else:
            found[currency] = int(converted // 100) * 100 + 90
    return found


def password_hash(password: str, profile: str, seed: int) -> str:
    """argon2id with the auth service's parameters; the salt comes from (profile, seed,
    password), so seeded users' hashes are the same in every run (development data only)."""
    salt = hashlib.sha256(f"agora-seed:{profile}:{seed}:{password}".encode()).digest()[:16]
    return hash_secret(
        password.encode(),
        salt,
        time_cost=OWASP_TIME_COST,
        memory_cost=OWASP_MEMORY_KIB,
        parallelism=OWASP_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    ).decode()


def staff_password_hash(password: str) -> str:
    """argon2id with the auth service's parameters and a random salt."""
    return hash_secret(
        password.encode(),
        os.urandom(16),
        time_cost=OWASP_TIME_COST,
        memory_cost=OWASP_MEMORY_KIB,
        parallelism=OWASP_PARALLELISM,
        hash_len=32,
        type=Type.ID,
    ).decode()


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = ("".join(c for c in w if c.isalnum()) for w in ascii_text.lower().split())
    return "-".join(w for w in words if w)


def _person(fake: Faker, country: str) -> _Person | None:
    """A localized name and a valid address of `country`, or None when Faker's is not valid."""
    if country == "JP":
        first, last = fake.first_name(), fake.last_name()
        email_name = f"{fake.first_romanized_name()}.{fake.last_romanized_name()}"
        line1 = f"{fake.town()}{fake.chome()}{fake.ban()}{fake.gou()}"
        region = fake.prefecture()
    else:
        first, last = fake.first_name(), fake.last_name()
        email_name = f"{first}.{last}"
        line1 = fake.street_address().replace("\n", ", ")
        region = fake.state_abbr() if country == "US" else ""
    email_name = _slugify(email_name.replace(".", " ")).replace("-", ".") or "customer"
    address = SeedAddress(
        name=f"{first} {last}",
        line1=line1,
        city=fake.city(),
        postal_code=fake.postcode().upper(),
        country=country,
        email=f"{email_name}@example.com",
        region=region,
        phone=fake.phone_number(),
    )
    checked = Address(
        name=address.name,
        line1=address.line1,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=country,
        email=address.email,
        phone=address.phone,
    )
    if address_violations(checked, "address"):
        return None
    return _Person(first, last, email_name, address)
