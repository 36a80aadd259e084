"""QR codes in the pages: an SVG `data:` image drawn by segno (the CSP allows `img-src data:`;
inline SVG would need inline styles)."""

from __future__ import annotations

import segno


def qr_data_url(text: str) -> str:
    """`text` (an otpauth or EIP-681 URI) as a QR code, with the standard 4-module quiet zone."""
    return str(
        segno.make(text, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")
    )
