"""The admin schema's tables of analytics read models (facts and rollups fed by events),
declared on the schema's one
`metadata` (tables.py imports this module, so the schema check sees them).

Each table is written by exactly one consumer (its comment names the stream), so a consumer's
`reset` empties only its own tables. The payment method rollup's two halves (ORDERS' and
PAYMENTS') are right only together: a rebuild empties every model at once (`rebuild_analytics`).
Money columns are minor units of the row's `currency`.
"""

from __future__ import annotations

import sqlalchemy as sa

from agora.admin.tables import metadata

_TS = sa.DateTime(timezone=True)

# ORDERS: one fact per order.
analytics_orders = sa.Table(
    "analytics_orders",
    metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("cart_id", sa.Text, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("pay_currency", sa.Text, nullable=False),
    sa.Column("total_minor", sa.BigInteger, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("country", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("invoice_id", sa.Text, nullable=False),
    sa.Column("placed_at", _TS, nullable=False),
    sa.Column("placed_day", sa.Date, nullable=False),
    sa.Column("invoiced_at", _TS),
    sa.Column("paid_at", _TS),
    sa.Column("paid_day", sa.Date),
    sa.Column("refunded_minor", sa.BigInteger, nullable=False),
    # The order's totals as placed (tax reports): lines, shipping and tax in `currency`.
    sa.Column("subtotal_minor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("shipping_minor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("tax_minor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("tax_rate_bp", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("prices_include_tax", sa.Boolean, nullable=False, server_default=sa.text("false")),
    sa.Index("analytics_orders_paid_day", "paid_day"),
    sa.Index("analytics_orders_placed_day", "placed_day"),
    sa.Index("analytics_orders_customer", "customer_id", "paid_day"),
)

# ORDERS: the lines each order was placed with.
analytics_order_lines = sa.Table(
    "analytics_order_lines",
    metadata,
    sa.Column("order_id", sa.Text, primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("variant_id", sa.Text, nullable=False),
    sa.Column("product_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("quantity", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
)

# ORDERS: the daily rollup per currency (what sales reports read).
analytics_daily_sales = sa.Table(
    "analytics_daily_sales",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("orders_placed", sa.BigInteger, nullable=False),
    sa.Column("orders_paid", sa.BigInteger, nullable=False),
    sa.Column("revenue_minor", sa.BigInteger, nullable=False),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("refunds", sa.BigInteger, nullable=False),
    sa.Column("refunded_minor", sa.BigInteger, nullable=False),
    sa.Column("returns_requested", sa.BigInteger, nullable=False),
)

# ORDERS: the funnel per day an order was placed and its currency: orders placed, invoiced
# (ever) and paid (what the funnel report reads, instead of every order fact).
analytics_funnel_daily = sa.Table(
    "analytics_funnel_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("placed", sa.BigInteger, nullable=False),
    sa.Column("invoiced", sa.BigInteger, nullable=False),
    sa.Column("paid", sa.BigInteger, nullable=False),
)

# ORDERS: paid order lines per day paid, currency and product: units, orders (each order once
# per product) and line amounts (what the top products report reads, instead of every line).
analytics_product_daily = sa.Table(
    "analytics_product_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("product_id", sa.Text, primary_key=True),
    sa.Column("units", sa.BigInteger, nullable=False),
    sa.Column("orders", sa.BigInteger, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
)

# ORDERS: each customer's first paid day (customers with a paid order only; a customer whose
# first payment is being recorded has 'infinity' until the batch's commit).
analytics_customer_first_paid = sa.Table(
    "analytics_customer_first_paid",
    metadata,
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("first_day", sa.Date, nullable=False),
)

# ORDERS: per day, the customers with a paid order that day and how many of them paid for the
# first time ever (the customers report by day, instead of every order).
analytics_customer_daily = sa.Table(
    "analytics_customer_daily",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("customers", sa.BigInteger, nullable=False),
    sa.Column("new_customers", sa.BigInteger, nullable=False),
)

# ORDERS: customers by their first paid day and each month they paid an order in (the cohorts;
# no row counts 0).
analytics_cohort_daily = sa.Table(
    "analytics_cohort_daily",
    metadata,
    sa.Column("first_day", sa.Date, primary_key=True),
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("customers", sa.BigInteger, nullable=False),
)

# Paid orders per day paid, currency and payment method (the invoice's provider and pay
# currency; no provider and the order's pay currency while its invoice is unknown), in two
# halves added up by the payment methods report: what the ORDERS consumer's events changed
# (orders paid, invoices changed) and what the PAYMENTS consumer's changed (invoices announced
# or changed for paid orders), each computed against the other stream's facts under one
# advisory lock (`analytics_store.METHODS_LOCK`), so that whichever comes first the sum is
# the join of the two. Rows may count 0 or less in one half; the sum never does.
_METHOD_COLUMNS = (
    "day",
    "currency",
    "provider",
    "pay_currency",
)


def _method_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        *(
            sa.Column(c, sa.Date if c == "day" else sa.Text, primary_key=True)
            for c in _METHOD_COLUMNS
        ),
        sa.Column("orders", sa.BigInteger, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
    )


# ORDERS: its half.
analytics_method_daily_orders = _method_table("analytics_method_daily_orders")
# PAYMENTS: its half.
analytics_method_daily_payments = _method_table("analytics_method_daily_payments")

# PAYMENTS: the last known state of each invoice.
analytics_invoices = sa.Table(
    "analytics_invoices",
    metadata,
    sa.Column("invoice_id", sa.Text, primary_key=True),
    sa.Column("order_id", sa.Text, nullable=False, index=True),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("pay_currency", sa.Text, nullable=False),
    sa.Column("price_currency", sa.Text, nullable=False),
    sa.Column("price_minor", sa.BigInteger, nullable=False),
    # The rate locked at creation (price currency → pay currency), payments' exact text.
    sa.Column("rate", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)

# PAYMENTS: every announced exchange rate (1 base = rate quote).
analytics_rates = sa.Table(
    "analytics_rates",
    metadata,
    sa.Column("base", sa.Text, primary_key=True),
    sa.Column("quote", sa.Text, primary_key=True),
    sa.Column("as_of", _TS, primary_key=True),
    sa.Column("rate", sa.Text, nullable=False),
)

# CATALOG: product names and categories, category names, stock per variant.
analytics_products = sa.Table(
    "analytics_products",
    metadata,
    sa.Column("product_id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("category_id", sa.Text, nullable=False),
)

analytics_categories = sa.Table(
    "analytics_categories",
    metadata,
    sa.Column("category_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

analytics_stock = sa.Table(
    "analytics_stock",
    metadata,
    sa.Column("variant_id", sa.Text, primary_key=True),
    sa.Column("product_id", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("on_hand", sa.BigInteger, nullable=False),
    sa.Column("reserved", sa.BigInteger, nullable=False),
)

# CATALOG: each variant's current price list (inventory valuation at selling price).
analytics_prices = sa.Table(
    "analytics_prices",
    metadata,
    sa.Column("variant_id", sa.Text, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
)

# AUTH: accounts by the day they registered.
analytics_accounts = sa.Table(
    "analytics_accounts",
    metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("registered_day", sa.Date, nullable=False, index=True),
)

# SUPPORT: one fact per conversation.
analytics_conversations = sa.Table(
    "analytics_conversations",
    metadata,
    sa.Column("conversation_id", sa.Text, primary_key=True),
    sa.Column("started_day", sa.Date, index=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("answered", sa.Boolean, nullable=False),
    sa.Column("time_to_first_answer_ms", sa.BigInteger, nullable=False),
    sa.Column("handed_over", sa.Boolean, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("resolved_by_assistant", sa.Boolean, nullable=False),
)

ANALYTICS_TABLES = (
    analytics_orders,
    analytics_order_lines,
    analytics_daily_sales,
    analytics_invoices,
    analytics_rates,
    analytics_products,
    analytics_categories,
    analytics_stock,
    analytics_prices,
    analytics_accounts,
    analytics_conversations,
    analytics_funnel_daily,
    analytics_product_daily,
    analytics_customer_first_paid,
    analytics_customer_daily,
    analytics_cohort_daily,
    analytics_method_daily_orders,
    analytics_method_daily_payments,
)

__all__ = ["ANALYTICS_TABLES", "metadata"] + [t.name for t in ANALYTICS_TABLES]
