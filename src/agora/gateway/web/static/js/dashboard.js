// The admin dashboard: draws the charts from the numbers the server put in the page, then
// follows the live feed (Server-Sent Events of WatchDashboard) to move the tiles and the
// revenue series' last point without a reload.

const data = JSON.parse(document.getElementById("dashboard-data").textContent);
const Chart = window.Chart;
const palette = ["#2847d6", "#17794a", "#b3261e", "#8a5a00", "#6b3fa0", "#00708a", "#5a6272", "#c2410c"];
const money = new Intl.NumberFormat("en", { style: "currency", currency: data.currency || "EUR" });
const exponent = money.resolvedOptions().maximumFractionDigits;
const number = new Intl.NumberFormat("en");

/** Minor units as money (the chart data stays in integer minor units, as the API gives them). */
function formatMoney(minor) {
  return money.format(Number(minor) / 10 ** exponent);
}

function ints(values) {
  return values.map((value) => Number(value));
}

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas || !Chart) return null;
  config.options = { responsive: true, maintainAspectRatio: false, animation: false, ...config.options };
  return new Chart(canvas, config);
}

const salesChart = draw("chart-sales", {
  type: "bar",
  data: {
    labels: data.sales.labels,
    datasets: [
      { type: "line", label: "Revenue", data: ints(data.sales.revenue), yAxisID: "revenue", borderColor: palette[0], backgroundColor: palette[0], tension: 0.2 },
      { type: "bar", label: "Paid orders", data: ints(data.sales.orders), yAxisID: "orders", backgroundColor: "#9fb0ee" },
    ],
  },
  options: {
    scales: {
      revenue: { position: "left", beginAtZero: true, ticks: { callback: (value) => formatMoney(value) } },
      orders: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 } },
    },
    plugins: { tooltip: { callbacks: { label: (item) => item.dataset.yAxisID === "revenue" ? `Revenue: ${formatMoney(item.raw)}` : `Paid orders: ${item.raw}` } } },
  },
});

draw("chart-funnel", {
  type: "bar",
  data: { labels: data.funnel.labels, datasets: [{ label: "Orders", data: ints(data.funnel.values), backgroundColor: [palette[0], palette[3], palette[1]] }] },
  options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
});

draw("chart-top-products", {
  type: "bar",
  data: { labels: data.topProducts.labels, datasets: [{ label: "Units", data: ints(data.topProducts.units), backgroundColor: palette[0] }] },
  options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
});

draw("chart-payment-methods", {
  type: "doughnut",
  data: { labels: data.paymentMethods.labels, datasets: [{ label: "Paid orders", data: ints(data.paymentMethods.orders), backgroundColor: palette }] },
});

draw("chart-customers", {
  type: "bar",
  data: {
    labels: data.customers.labels,
    datasets: [
      { label: "New", data: ints(data.customers.new), backgroundColor: palette[1] },
      { label: "Returning", data: ints(data.customers.returning), backgroundColor: palette[0] },
    ],
  },
  options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
});

// --- live tiles ---------------------------------------------------------------------------

const status = document.getElementById("live-status");
const tiles = Object.fromEntries([...document.querySelectorAll("[data-tile]")].map((el) => [el.dataset.tile, el]));

function show(name, text) {
  const tile = tiles[name];
  if (tile && tile.textContent !== text) tile.textContent = text;
}

/** Round half to even, as the analytics do, for an average of integers. */
function divideHalfEven(numerator, denominator) {
  const quotient = Math.floor(numerator / denominator);
  const remainder = numerator - quotient * denominator;
  if (remainder * 2 > denominator || (remainder * 2 === denominator && quotient % 2 !== 0)) return quotient + 1;
  return quotient;
}

function percent(part, whole) {
  if (whole <= 0) return "–";
  const tenths = Math.floor((part * 1000 + Math.floor(whole / 2)) / whole);
  return `${Math.floor(tenths / 10)}.${tenths % 10}%`;
}

/** The range's figures with today's replaced by the live ones. */
function applyLive(update) {
  const today = data.today;
  const live = {
    revenue: Number(update.revenueMinor ?? 0),
    orders: Number(update.ordersPaid ?? 0),
    placed: Number(update.ordersPlaced ?? 0),
    newCustomers: Number(update.newCustomers ?? 0),
  };
  const delta = {
    revenue: live.revenue - Number(today.revenue),
    orders: live.orders - Number(today.orders),
    placed: live.placed - Number(today.placed),
    newCustomers: live.newCustomers - Number(today.newCustomers),
  };
  const base = data.tiles;
  const revenue = Number(base.revenue) + delta.revenue;
  const orders = Number(base.orders) + delta.orders;
  // Orders placed today that got paid since: the funnel's paid-of-placed grows with them.
  const placed = Number(base.placed) + delta.placed;
  const paidOfPlaced = Math.min(placed, Number(base.paidOfPlaced) + Math.max(0, delta.orders));
  show("revenue", formatMoney(revenue));
  show("orders", number.format(orders));
  show("aov", orders > 0 ? formatMoney(divideHalfEven(revenue, orders)) : "–");
  show("newCustomers", number.format(Number(base.newCustomers) + delta.newCustomers));
  show("conversion", percent(paidOfPlaced, placed));
  if (salesChart) {
    const last = data.sales.revenue.length - 1;
    if (last >= 0) {
      salesChart.data.datasets[0].data[last] = Number(data.sales.revenue[last]) + delta.revenue;
      salesChart.data.datasets[1].data[last] = Number(data.sales.orders[last]) + delta.orders;
      salesChart.update("none");
    }
  }
}

/** Follow the live feed; opened after the page's load, which an open stream would hold up. */
function follow() {
  const source = new EventSource("/v1/admin/analytics/live");
  source.addEventListener("message", (event) => {
    const update = JSON.parse(event.data);
    if (update.currency && update.currency !== data.currency) return;
    applyLive(update);
    status.dataset.live = "on";
    status.textContent = `Live: updated ${new Date(update.asOf || Date.now()).toLocaleTimeString("en")}.`;
  });
  source.addEventListener("error", (event) => {
    // A problem event (`event: error` with a body) ends the stream. The browser reconnects
    // after an ended or dropped stream; a refusal (not signed in, no right) will not pass then.
    const problem = event.data ? JSON.parse(event.data) : null;
    if (problem && problem.status < 500) {
      source.close();
      status.dataset.live = "off";
      status.textContent = "Live updates stopped. Reload the page to resume.";
    }
  });
}

if (data.live && data.today && window.EventSource) {
  if (document.readyState === "complete") follow();
  else window.addEventListener("load", follow, { once: true });
}
