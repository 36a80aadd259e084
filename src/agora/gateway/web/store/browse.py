"""Storefront: home, categories, search, product pages, content pages and the blog.

Every page makes its gRPC calls concurrently (`asyncio.gather`): a page costs its slowest call,
not their sum. Content the shop can live without (banners, menus, recommendations, posts) is
optional: its failure leaves its section out instead of failing the page.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import grpc
import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from agora._proto.agora.admin.v1 import content_pb2
from agora._proto.agora.admin.v1.content_pb2_grpc import ContentServiceStub
from agora._proto.agora.catalog.v1 import catalog_pb2
from agora._proto.agora.catalog.v1.catalog_pb2_grpc import CatalogServiceStub
from agora._proto.agora.support.v1 import support_pb2
from agora._proto.agora.support.v1.support_pb2_grpc import SupportServiceStub
from agora.gateway.problem import problem_from_rpc_error
from agora.gateway.web.site import Page, Site, WebRefusal
from agora.platform.kernel.money import CRYPTO_DECIMALS, ISO_EXPONENTS

log = structlog.get_logger("agora.gateway.web.browse")

T = TypeVar("T")

PAGE_SIZE = 12
FEATURED = 8
RECOMMENDED = 4
POSTS_PER_PAGE = 10
MAX_QUERY = 200
MAX_TOKEN = 512
# Earlier pages' tokens a listing URL carries for its "previous" link.
MAX_TRAIL = 10
# At or below this many available, a variant shows "only n left".
LOW_STOCK = 5
# ListProducts' bound on prices (minor units).
MAX_PRICE_MINOR = 1_000_000_000_000
SORTS = ("relevance", "newest", "price_asc", "price_desc", "title")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TOKEN = re.compile(r"[A-Za-z0-9_=-]*")
HOME_PLACEMENT = "home-hero"
MAIN_MENU = "main"
FOOTER_MENU = "footer"
# The listing's query flag: the price bounds were dropped when the shopper changed currency.
PRICE_CLEARED = "price_cleared"


class BadInput(WebRefusal):
    """A listing's query the page cannot use (400, with what is wrong)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def routes(site: Site) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        page = await site.page(request)
        catalog = page.stub(CatalogServiceStub, "catalog")
        content = page.stub(ContentServiceStub, "admin")
        locale = page.language.code
        banners, menus, featured, categories, posts = await asyncio.gather(
            optional(
                page.call(
                    content.ListPublishedBanners,
                    content_pb2.ListPublishedBannersRequest(
                        locale=locale, placement=HOME_PLACEMENT
                    ),
                ),
                content_pb2.ListPublishedResponse(),
            ),
            _menus(page),
            page.call(
                catalog.ListProducts,
                catalog_pb2.ListProductsRequest(
                    currency=page.currency, page_size=FEATURED, sort="newest"
                ),
            ),
            _categories(page),
            optional(
                page.call(
                    content.ListPublishedPosts,
                    content_pb2.ListPublishedPostsRequest(locale=locale, page_size=3),
                ),
                content_pb2.ListPublishedResponse(),
            ),
        )
        return site.render(
            page,
            "store/home.html",
            banners=[_banner(b) for b in banners.entries],
            products=featured.products,
            categories=[c for c in categories if c.depth == 0],
            posts=posts.entries,
            **menus,
        )

    async def search(request: Request) -> Response:
        page = await site.page(request)
        return await _listing(site, page, category_slug="")

    async def category(request: Request) -> Response:
        page = await site.page(request)
        slug = request.path_params["slug"]
        if len(slug) > 120 or not SLUG.fullmatch(slug):
            return site.error_page(page, 404, page.t("Page not found"))
        return await _listing(site, page, category_slug=slug)

    async def product(request: Request) -> Response:
        page = await site.page(request)
        slug = request.path_params["slug"]
        if len(slug) > 120 or not SLUG.fullmatch(slug):
            return site.error_page(page, 404, page.t("Page not found"))
        catalog = page.stub(CatalogServiceStub, "catalog")
        asked = request.query_params.get("variant_id", "")
        partial = _htmx_target(request) == "buy-state"
        if partial:
            found = await page.call(
                catalog.GetProduct,
                catalog_pb2.GetProductRequest(slug=slug, currency=page.currency),
            )
            return site.render(
                page, "store/_browse_buy_state.html", **_buy_context(page, found, asked)
            )
        found, menus = await asyncio.gather(
            page.call(
                catalog.GetProduct,
                catalog_pb2.GetProductRequest(slug=slug, currency=page.currency),
            ),
            _menus(page),
        )
        recommended = await _also_bought(page, found.id)
        return site.render(
            page,
            "store/product.html",
            images=[url for url in found.image_urls if _same_site(url)],
            recommended=recommended,
            idempotency_key=str(uuid.uuid4()),
            **_buy_context(page, found, asked),
            **menus,
        )

    async def content_page(request: Request) -> Response:
        return await _content(site, request, "page")

    async def blog_post(request: Request) -> Response:
        return await _content(site, request, "post")

    async def blog(request: Request) -> Response:
        page = await site.page(request)
        token = _token(request.query_params.get("page", ""), page)
        content = page.stub(ContentServiceStub, "admin")
        try:
            posts, menus = await asyncio.gather(
                page.call(
                    content.ListPublishedPosts,
                    content_pb2.ListPublishedPostsRequest(
                        locale=page.language.code, page_size=POSTS_PER_PAGE, page_token=token
                    ),
                ),
                _menus(page),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise BadInput(page.t("This page link is not valid any more.")) from None
            raise
        return site.render(
            page,
            "store/content.html",
            entry=None,
            posts=posts.entries,
            next_page=posts.next_page_token,
            **menus,
        )

    return [
        Route("/", home, methods=["GET"]),
        Route("/search", search, methods=["GET"]),
        Route("/c/{slug}", category, methods=["GET"]),
        Route("/p/{slug}", product, methods=["GET"]),
        Route("/pages/{slug}", content_page, methods=["GET"]),
        Route("/blog", blog, methods=["GET"]),
        Route("/blog/{slug}", blog_post, methods=["GET"]),
    ]


# --- listing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingQuery:
    """A listing's filters as the page's form sends them, checked."""

    q: str
    min_text: str
    max_text: str
    min_price: int | None
    max_price: int | None
    in_stock: bool
    sort: str
    token: str
    trail: tuple[str, ...]

    def params(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "q": self.q,
            "min": self.min_text,
            "max": self.max_text,
            "in_stock": "1" if self.in_stock else "",
            "sort": self.sort,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", None, ())}


def listing_in_new_currency(url: str) -> str:
    """The listing at `url` for a shopper who just chose another currency.

    The shop sets each currency's prices (no rate converts them), so bounds typed in the old
    currency mean nothing in the new one: they are dropped, and the page says so. Page tokens
    hold the old currency's prices too: the listing starts again from its first page."""
    parts = urlsplit(url)
    if parts.path != "/search" and not parts.path.startswith("/c/"):
        return url
    params = parse_qsl(parts.query, keep_blank_values=True)
    bounded = any(name in ("min", "max") and value.strip() for name, value in params)
    dropped = {"min", "max", "page", "back", PRICE_CLEARED}
    kept = [(name, value) for name, value in params if name not in dropped]
    if bounded:
        kept.append((PRICE_CLEARED, "1"))
    return _url(parts.path, kept)


def listing_query(params: Mapping[str, str], trail: list[str], page: Page) -> ListingQuery:
    """The listing's query string checked: every bound, or BadInput saying what is wrong."""
    q = params.get("q", "").strip()
    if len(q) > MAX_QUERY:
        raise BadInput(page.t("The search is too long (at most %(n)s characters).", n=MAX_QUERY))
    sort = params.get("sort", "")
    if sort and sort not in SORTS:
        raise BadInput(page.t("Unknown sort order."))
    if sort == "relevance" and not q:
        sort = ""
    min_text = params.get("min", "").strip()
    max_text = params.get("max", "").strip()
    min_price = parse_amount(min_text, page.currency, page)
    max_price = parse_amount(max_text, page.currency, page)
    if min_price is not None and max_price is not None and min_price > max_price:
        raise BadInput(page.t("The lowest price must not be above the highest price."))
    in_stock = params.get("in_stock", "") in ("1", "on", "true")
    token = _token(params.get("page", ""), page)
    if len(trail) > MAX_TRAIL + 1:
        raise BadInput(page.t("This page link is not valid any more."))
    return ListingQuery(
        q=q,
        min_text=min_text,
        max_text=max_text,
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        sort=sort,
        token=token,
        trail=tuple(_token(t, page) for t in trail),
    )


AMOUNT = re.compile(r"(\d{1,13})(?:[.,](\d+))?")


def parse_amount(text: str, currency: str, page: Page) -> int | None:
    """A decimal amount typed by a shopper ("12", "12.5", "12,50") in minor units of
    `currency`: integers only, never through a float; None when empty."""
    if not text:
        return None
    exponent = ISO_EXPONENTS.get(currency, CRYPTO_DECIMALS.get(currency, 2))
    match = AMOUNT.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise BadInput(page.t("Enter prices as numbers, like 12.50."))
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        raise BadInput(
            page.t(
                "Prices in %(currency)s have at most %(n)s decimals.", currency=currency, n=exponent
            )
        )
    minor: int = int(whole) * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
    if minor > MAX_PRICE_MINOR:
        raise BadInput(page.t("That price is too high."))
    return minor


async def _listing(site: Site, page: Page, *, category_slug: str) -> Response:
    request = page.request
    query = listing_query(request.query_params, request.query_params.getlist("back"), page)
    catalog = page.stub(CatalogServiceStub, "catalog")
    ask = catalog_pb2.ListProductsRequest(
        q=query.q,
        category=category_slug,
        currency=page.currency,
        in_stock=query.in_stock,
        sort=query.sort,
        page_size=PAGE_SIZE,
        page_token=query.token,
    )
    if query.min_price is not None:
        ask.min_price = query.min_price
    if query.max_price is not None:
        ask.max_price = query.max_price
    partial = _htmx_target(request) == "results"
    try:
        if partial:
            listed = await page.call(catalog.ListProducts, ask)
            categories: list[catalog_pb2.Category] = []
            menus: dict[str, Any] = {"main_menu": [], "footer_menu": []}
        else:
            listed, categories, menus = await asyncio.gather(
                page.call(catalog.ListProducts, ask), _categories(page), _menus(page)
            )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            problem = problem_from_rpc_error(error)
            if any(v.field == "pageToken" for v in problem.errors):
                raise BadInput(page.t("This page link is not valid any more.")) from None
            raise BadInput(page.t("These filters cannot be used together.")) from None
        raise
    current = None
    if category_slug:
        current = next((c for c in categories if c.slug == category_slug), None)
        if current is None and not partial:
            return site.error_page(page, 404, page.t("Page not found"))
    path = f"/c/{category_slug}" if category_slug else "/search"
    # Said until the shopper sets price bounds again, in the new currency.
    unbounded = query.min_price is None and query.max_price is None
    price_cleared = unbounded and request.query_params.get(PRICE_CLEARED) == "1"
    next_url = prev_url = ""
    if listed.next_page_token:
        trail = (*query.trail, query.token)[-(MAX_TRAIL + 1) :]
        next_url = _url(path, query.params(page=listed.next_page_token, back=trail))
    if query.token and query.trail:
        prev_url = _url(path, query.params(page=query.trail[-1], back=query.trail[:-1]))
    elif query.token:
        prev_url = _url(path, query.params())
    context = dict(
        path=path,
        listing=query,
        query=query.q,
        products=listed.products,
        category=current,
        categories=categories,
        sorts=_sort_labels(page, bool(query.q)),
        next_url=next_url,
        prev_url=prev_url,
        first_page=not query.token,
        price_cleared=price_cleared,
        **menus,
    )
    template = "store/_browse_results.html" if partial else "store/listing.html"
    return site.render(page, template, **context)


def _sort_labels(page: Page, searching: bool) -> list[tuple[str, str]]:
    labels = [
        ("relevance", page.t("Best match")),
        ("newest", page.t("Newest")),
        ("price_asc", page.t("Price: low to high")),
        ("price_desc", page.t("Price: high to low")),
        ("title", page.t("Name")),
    ]
    return [(v, label) for v, label in labels if searching or v != "relevance"]


def _url(path: str, params: Mapping[str, Any] | list[tuple[str, str]]) -> str:
    query = urlencode(params, doseq=True)
    return f"{path}?{query}" if query else path


def _token(value: str, page: Page) -> str:
    if len(value) > MAX_TOKEN or not TOKEN.fullmatch(value):
        raise BadInput(page.t("This page link is not valid any more."))
    return value


# --- product -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """One variant as the product page offers it, priced in the page's currency."""

    variant: catalog_pb2.Variant
    price: catalog_pb2.Money | None
    stock: str  # in_stock | low_stock | out_of_stock

    @property
    def buyable(self) -> bool:
        return self.price is not None and self.stock != "out_of_stock"


def stock_state(available: int) -> str:
    if available <= 0:
        return "out_of_stock"
    return "low_stock" if available <= LOW_STOCK else "in_stock"


def _buy_context(page: Page, product: catalog_pb2.Product, asked: str) -> dict[str, Any]:
    """The variants offered and the chosen one: the asked one, else the first in stock."""
    choices = [
        Choice(
            variant=v,
            price=next((p for p in v.prices if p.currency == page.currency), None),
            stock=stock_state(v.available),
        )
        for v in sorted(product.variants, key=lambda v: v.position)
    ]
    chosen = None
    if asked and len(asked) <= 36 and UUID.fullmatch(asked):
        chosen = next((c for c in choices if c.variant.id == asked.lower()), None)
    if chosen is None:
        chosen = next((c for c in choices if c.buyable), choices[0] if choices else None)
    return {"product": product, "choices": choices, "chosen": chosen, "low_stock": LOW_STOCK}


async def _also_bought(page: Page, product_id: str) -> list[catalog_pb2.Product]:
    """The "customers also bought" products: the support service's picks, in its order."""
    support = page.stub(SupportServiceStub, "support")
    picks = await optional(
        page.call(
            support.GetRecommendations,
            support_pb2.GetRecommendationsRequest(
                kind=support_pb2.RECOMMENDATION_KIND_ALSO_BOUGHT,
                product_id=product_id,
                limit=RECOMMENDED,
            ),
        ),
        support_pb2.Recommendations(),
    )
    ids = [item.product_id for item in picks.items][:RECOMMENDED]
    if not ids:
        return []
    catalog = page.stub(CatalogServiceStub, "catalog")
    listed = await optional(
        page.call(
            catalog.ListProducts,
            catalog_pb2.ListProductsRequest(ids=ids, currency=page.currency, page_size=len(ids)),
        ),
        catalog_pb2.ListProductsResponse(),
    )
    by_id = {p.id: p for p in listed.products}
    return [by_id[i] for i in ids if i in by_id]


# --- content -----------------------------------------------------------------------------------


async def _content(site: Site, request: Request, kind: str) -> Response:
    page = await site.page(request)
    slug = request.path_params["slug"]
    if len(slug) > 120 or not SLUG.fullmatch(slug):
        return site.error_page(page, 404, page.t("Page not found"))
    content = page.stub(ContentServiceStub, "admin")
    method = content.GetPublishedPage if kind == "page" else content.GetPublishedPost
    entry, menus = await asyncio.gather(
        page.call(method, content_pb2.GetPublishedRequest(locale=page.language.code, slug=slug)),
        _menus(page),
    )
    # body_html is sanitized by the admin service (nh3 allow-list) when the entry is saved.
    return site.render(
        page,
        "store/content.html",
        entry=entry,
        image=_media(entry.image_sha256),
        posts=[],
        next_page="",
        **menus,
    )


# --- shared ------------------------------------------------------------------------------------


async def optional(call: Awaitable[T], default: T) -> T:
    """`call`'s answer, or `default` when it fails (the section is left out of the page)."""
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            log.warning("web.optional_call_failed", code=error.code().name)
        return default


async def _menus(page: Page) -> dict[str, Any]:
    """The published main and footer menus (empty when none is published)."""
    content = page.stub(ContentServiceStub, "admin")
    locale = page.language.code
    main, footer = await asyncio.gather(
        *(
            optional(
                page.call(
                    content.GetPublishedMenu,
                    content_pb2.GetPublishedRequest(locale=locale, slug=slug),
                ),
                content_pb2.PublishedContent(),
            )
            for slug in (MAIN_MENU, FOOTER_MENU)
        )
    )
    return {
        "main_menu": [i for i in main.menu_items if _linkable(i.url)],
        "footer_menu": [i for i in footer.menu_items if _linkable(i.url)],
    }


async def _categories(page: Page) -> list[catalog_pb2.Category]:
    catalog = page.stub(CatalogServiceStub, "catalog")
    answer = await optional(
        page.call(catalog.ListCategories, catalog_pb2.ListCategoriesRequest()),
        catalog_pb2.ListCategoriesResponse(),
    )
    return list(answer.categories)


@dataclass(frozen=True)
class Banner:
    title: str
    body_html: str
    link_url: str
    image: dict[str, str] | None


def _banner(entry: content_pb2.PublishedContent) -> Banner:
    return Banner(
        title=entry.title,
        body_html=entry.body_html,
        link_url=entry.link_url if _linkable(entry.link_url) else "",
        image=_media(entry.image_sha256),
    )


def _media(sha256: str) -> dict[str, str] | None:
    """The image URLs of an uploaded medium (the gateway serves them, immutable)."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        return None
    base = f"/v1/content/media/{sha256}"
    return {
        "src": f"{base}/w960",
        "srcset": f"{base}/w320 320w, {base}/w960 960w",
    }


def _linkable(url: str) -> bool:
    return url.startswith(("https://", "http://")) or (
        url.startswith("/") and not url.startswith("//")
    )


def _same_site(url: str) -> bool:
    """Only this site's images load under the pages' CSP (`img-src 'self'`)."""
    return url.startswith("/") and not url.startswith("//")


def _htmx_target(request: Request) -> str:
    if request.headers.get("hx-request") != "true":
        return ""
    return request.headers.get("hx-target", "")[:40]
