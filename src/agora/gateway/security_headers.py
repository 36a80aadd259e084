"""Security headers on every answer of the gateway: API calls, errors, 404s, 429s and the docs.

Computed once; per response the edge only appends them. A response may bring its own
Content-Security-Policy (the docs page needs scripts and styles of this origin; a web page its
nonce), its own Cache-Control (cached answers revalidate) and its own Referrer-Policy (web
pages say `same-origin`, so their forms' `Origin` can be checked); everything else is fixed.
"""

from __future__ import annotations

# API answers are JSON: they load nothing, and no page may frame them.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Two years, the preload list's minimum; browsers ignore it over plain HTTP.
HSTS = "max-age=63072000; includeSubDomains"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"strict-transport-security", HSTS.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_CSP_KEY = b"content-security-policy"
_REFERRER_KEY = b"referrer-policy"
_CACHE_KEY = b"cache-control"
_DEFAULT_CSP = (_CSP_KEY, API_CSP.encode())
_NO_STORE = (_CACHE_KEY, b"no-store")


def with_security_headers(
    headers: list[tuple[bytes, bytes]], request_id: bytes
) -> list[tuple[bytes, bytes]]:
    """`headers` (lowercase names, as Starlette sends them) completed by the edge's own."""
    has_csp = has_cache_control = has_referrer_policy = False
    for key, _ in headers:
        if key == _CSP_KEY:
            has_csp = True
        elif key == _CACHE_KEY:
            has_cache_control = True
        elif key == _REFERRER_KEY:
            has_referrer_policy = True
    headers.append((b"x-request-id", request_id))
    if has_referrer_policy:
        headers.extend(h for h in SECURITY_HEADERS if h[0] != _REFERRER_KEY)
    else:
        headers.extend(SECURITY_HEADERS)
    if not has_csp:
        headers.append(_DEFAULT_CSP)
    if not has_cache_control:
        headers.append(_NO_STORE)
    return headers
