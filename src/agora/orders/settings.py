"""Settings of the orders service (`AGORA_ORDERS_*`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from agora.orders.domain import DEFAULT_UNIT_WEIGHT_GRAMS, ShopRules
from agora.platform.settings import ServiceSettings, service_settings_config

# How long after an invoice's expiry its settlement may still reach orders (relay, retries).
SETTLEMENT_MARGIN_S = 120


class OrdersSettings(ServiceSettings):
    """`AGORA_ORDERS_PORT`, `AGORA_ORDERS_PRICES_INCLUDE_TAX`, …"""

    model_config = service_settings_config("orders")

    prices_include_tax: bool = Field(
        default=True, description="catalog prices are gross (EU shops) rather than net (US)"
    )
    origin_country: str = Field(
        default="DE", pattern=r"^[A-Z]{2}$", description="tax country before an address is given"
    )
    default_unit_weight_grams: int = Field(default=DEFAULT_UNIT_WEIGHT_GRAMS, ge=0)
    cart_ttl_s: float = Field(default=7 * 86_400, gt=0, description="an idle cart expires")
    reservation_ttl_s: int = Field(
        default=1_200, ge=1, le=86_400, description="how long an unpaid order holds its stock"
    )
    invoice_expiry_s: int = Field(
        default=900, ge=1, le=86_400, description="how long the customer has to pay an order"
    )

    @model_validator(mode="after")
    def _stock_outlives_the_invoice(self) -> OrdersSettings:
        # A payment settling at the last second must still find its stock held to commit it.
        if self.reservation_ttl_s < self.invoice_expiry_s + SETTLEMENT_MARGIN_S:
            raise ValueError(
                f"reservation_ttl_s must be at least invoice_expiry_s + {SETTLEMENT_MARGIN_S}"
            )
        return self

    def shop_rules(self) -> ShopRules:
        """The taxing and shipping rules this configuration describes."""
        return ShopRules(
            prices_include_tax=self.prices_include_tax,
            origin_country=self.origin_country,
            default_unit_weight_grams=self.default_unit_weight_grams,
            cart_ttl=timedelta(seconds=self.cart_ttl_s),
        )
