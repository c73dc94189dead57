// A map drawn as SVG from the API's GeoJSON (WGS84 [lon, lat]); no tiles, no network. Places
// (rivers, reservoirs, karst, protected areas, landfills), trip tracks, stops, enterprises, sites
// and tips, each a layer with its own symbol. Zoom with the buttons, the wheel or + and −; pan by
// dragging or with the arrow keys. Everything is re-projected to pixels on each change, so symbols
// keep their size.

import { fmt, h, s } from "./dom.js";
import { label, t } from "./i18n.js";

const DEG_M = 111_320;
let maps = 0;
// drawn bottom to top: the places, their names, then the lead's own features (the enterprise's star
// above the stop circles that crowd around it)
const ORDER = ["place", "names", "track", "site", "stop", "event", "enterprise", "tip"];
const PLACE_KINDS = ["river", "road", "reservoir", "karst", "protected", "restricted", "landfill"];
/** A phone-width screen: the map and charts are drawn on a narrower canvas so their text stays readable. */
export const narrowScreen = () => window.matchMedia?.("(max-width: 640px)").matches ?? false;

function bounds(features) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const add = (c) => {
    if (typeof c[0] === "number") {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]); b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(add);
  };
  features.forEach((f) => add(f.geometry.coordinates));
  return Number.isFinite(b[0]) ? b : null;
}

const overlaps = (a, b) => a && b && a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];

function placeTitle(p) {
  return [label("place", p.kind), p.name].filter(Boolean).join(" · ");
}

function stopTitle(p) {
  const why = (p.why || []).map((w) => label("why", w)).join(", ");
  return [`${t("map.stop")} ${p.vehicle_id || ""}`, p.start ? fmt.local(p.start) : "", p.manifest_id ? `${t("manifest")} ${p.manifest_id}` : "", why]
    .filter(Boolean).join(" · ");
}

/** A point ``frac`` of the way along a line (by length in degrees). */
function along(coords, frac) {
  const seg = coords.slice(1).map((c, i) => Math.hypot(c[0] - coords[i][0], c[1] - coords[i][1]));
  let left = seg.reduce((a, b) => a + b, 0) * frac;
  for (let i = 0; i < seg.length; i++) {
    if (left <= seg[i] || i === seg.length - 1) {
      const f = seg[i] ? Math.min(1, left / seg[i]) : 0;
      return [coords[i][0] + (coords[i + 1][0] - coords[i][0]) * f, coords[i][1] + (coords[i + 1][1] - coords[i][1]) * f];
    }
    left -= seg[i];
  }
  return coords[0];
}

/** Where a place's name may go, best first: points along a line, the centre of an area's box, a point itself. */
function anchorsOf(geom) {
  const c = geom.coordinates;
  if (geom.type === "Point") return [c];
  if (geom.type === "LineString") return c.length > 1 ? [0.5, 0.3, 0.7, 0.15, 0.85].map((f) => along(c, f)) : [c[0]];
  if (geom.type === "MultiLineString") return anchorsOf({ type: "LineString", coordinates: c.reduce((a, b) => (b.length > a.length ? b : a), []) });
  const b = bounds([{ geometry: geom }]);
  return b ? [[(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]] : [];
}

/**
 * drawMap(fc, {background, title, fit, minSpanKm}) -> a <figure> with the map, its controls and legend.
 * ``fc`` holds the features to show; the view frames those of the ``fit`` layers (default all but
 * places), at least ``minSpanKm`` wide; ``background`` (optional) more places, drawn where in view.
 */
export function drawMap(fc, { background = null, title = t("map.title"), fit = null, minSpanKm = 3 } = {}) {
  // with the whole places layer behind, the detail's own (clipped) copies of places are not needed
  const W = narrowScreen() ? 400 : 760;
  const H = narrowScreen() ? 360 : 460;
  const features = (fc?.features || []).filter((f) => f?.geometry?.coordinates && !(background && f.properties?.layer === "place"));
  const focus = features.filter((f) => (fit ? fit.includes(f.properties?.layer) : f.properties?.layer !== "place"));
  const box = bounds(focus.length ? focus : features) || [110.29, 25.27, 110.29, 25.27];
  const lat0 = (box[1] + box[3]) / 2;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const home = { cx: ((box[0] + box[2]) / 2) * k, cy: (box[1] + box[3]) / 2,
    span: Math.max(((box[2] - box[0]) * k) * 1.25, ((box[3] - box[1]) * 1.25 * W) / H, (minSpanKm * 1000) / DEG_M) };
  let view = { ...home };
  const extra = (background?.features || []).filter((f) => f?.geometry?.coordinates);
  const bgBoxes = extra.map((f) => [f, bounds([f])]);

  const helpId = `map-help-${++maps}`;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "map", role: "group", "aria-roledescription": t("map.title"),
    "aria-label": title, tabindex: "0", "aria-describedby": helpId });
  const caption = h("figcaption", {});
  // what a tapped or keyboard-focused symbol is (the same text as its tooltip)
  const info = h("p", { class: "map-info", role: "status", "aria-live": "polite" }, t("map.pick"));
  const drawn = new Set(); // legend keys of what is in view
  const pick = (text) => { info.textContent = text; };
  const scale = () => W / view.span; // px per projected degree
  const px = ([lon, lat]) => [W / 2 + (lon * k - view.cx) * scale(), H / 2 - (lat - view.cy) * scale()];
  const pathOf = (rings) => rings.map((ring) => ring.map((c, i) => {
    const [x, y] = px(c);
    return `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
  }).join("") + "Z").join("");
  const lineOf = (coords) => coords.map((c) => px(c).map((v) => v.toFixed(1)).join(",")).join(" ");

  function drawGeometry(g, geom, cls, layer, props, titleText) {
    const tt = titleText ? s("title", {}, titleText) : null;
    drawn.add(layer === "place" ? `place:${PLACE_KINDS.includes(props.kind) ? props.kind : "other"}` : layer === "enterprise" ? `ent:${props.role}` : layer);
    // the lead's own symbols (not the background) are reachable by Tab and by a tap
    const own = layer !== "place" && titleText;
    const data = { "data-layer": layer, "data-kind": props.kind || props.role || null,
      ...(own ? { tabindex: "0", role: "button", "aria-label": titleText, onfocus: () => pick(titleText), onclick: () => pick(titleText) } : {}) };
    const type = geom.type;
    const c = geom.coordinates;
    if (type === "Polygon") g.append(s("path", { d: pathOf(c), class: `${cls} area`, "fill-rule": "evenodd", ...data }, tt));
    else if (type === "MultiPolygon") g.append(s("path", { d: c.map(pathOf).join(""), class: `${cls} area`, "fill-rule": "evenodd", ...data }, tt));
    else if (type === "LineString") g.append(s("polyline", { points: lineOf(c), class: `${cls} line`, ...data }, tt));
    else if (type === "MultiLineString") c.forEach((part) => g.append(s("polyline", { points: lineOf(part), class: `${cls} line`, ...data }, tt)));
    else if (type === "Point") g.append(symbol(px(c), layer, props, cls, data, tt));
    else if (type === "MultiPoint") c.forEach((pt) => g.append(symbol(px(pt), layer, props, cls, data, tt)));
  }

  function symbol([x, y], layer, p, cls, data, tt) {
    if (layer === "place") return s("path", { d: `M${x},${y - 6}L${x + 5.5},${y + 4}L${x - 5.5},${y + 4}Z`, class: `${cls} mark`, ...data }, tt);
    if (layer === "stop") {
      const r = 4 + Math.min(5, Math.max(0, p.suspicion ?? 1) * 1.5);
      return s("circle", { cx: x, cy: y, r, class: `${cls} mark`, ...data }, tt);
    }
    if (layer === "site") return s("path", { d: `M${x},${y - 11}L${x + 11},${y}L${x},${y + 11}L${x - 11},${y}Z`, class: `${cls} mark`, ...data }, tt);
    if (layer === "tip") return s("path", { d: `M${x},${y}l-7,-14a8,8 0 1 1 14,0Z`, class: `${cls} mark`, ...data }, tt);
    if (layer === "event") return s("path", { d: `M${x - 6},${y - 6}L${x + 6},${y + 6}M${x + 6},${y - 6}L${x - 6},${y + 6}`, class: `${cls} mark`, ...data }, tt);
    if (p.role === "self") {
      const pts = Array.from({ length: 10 }, (_, i) => {
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        const r = i % 2 ? 5 : 12;
        return `${(x + r * Math.cos(a)).toFixed(1)},${(y + r * Math.sin(a)).toFixed(1)}`;
      }).join(" ");
      return s("polygon", { points: pts, class: `${cls} mark`, ...data }, tt);
    }
    return s("rect", { x: x - 5, y: y - 5, width: 10, height: 10, class: `${cls} mark`, ...data }, tt);
  }

  const classOf = (layer, p) => (layer === "place" ? `place ${p.kind || "other"}` : layer === "enterprise" ? `ent ${p.role || ""}` : layer);

  /** Names of the places in view, each where it covers neither another name nor the lead's own symbols. */
  function placeNames(g, items) {
    const taken = features.filter((f) => f.properties?.layer !== "place" && f.geometry.type === "Point")
      .map((f) => px(f.geometry.coordinates)).map(([x, y]) => [x - 14, y - 14, x + 14, y + 14]);
    for (const f of items) {
      const name = f.properties?.name;
      if (!name) continue;
      const w = name.length * 12 + 6;
      const spot = anchorsOf(f.geometry).map(px).map(([x, y]) => ({ x, y, box: [x - w / 2, y - 14, x + w / 2, y + 4] }))
        .find(({ x, y, box }) => x > w / 2 && y > 16 && x < W - w / 2 && y < H - 4 && !taken.some((b) => overlaps(b, box)));
      if (!spot) continue;
      const { x, y, box } = spot;
      taken.push(box);
      g.append(s("text", { class: `place-name ${f.properties.kind || "other"}`, x, y, "text-anchor": "middle",
        "data-layer": "name", "data-kind": f.properties.kind || "other" }, name));
    }
  }

  function render() {
    while (svg.lastChild) svg.lastChild.remove();
    svg.append(s("title", {}, title));
    svg.append(s("rect", { class: "bg", x: 0, y: 0, width: W, height: H }));
    const half = view.span / 2 / k;
    const visible = [(view.cx - view.span / 2) / k, view.cy - (half * H) / W, (view.cx + view.span / 2) / k, view.cy + (half * H) / W];
    const layers = Object.fromEntries(ORDER.map((l) => [l, s("g", { class: `layer ${l}` })]));
    drawn.clear();
    const inView = [];
    for (const [f, b] of bgBoxes) {
      if (!overlaps(b, visible)) continue;
      inView.push(f);
      drawGeometry(layers.place, f.geometry, classOf("place", f.properties), "place", f.properties, placeTitle(f.properties));
    }
    for (const f of features) {
      const p = f.properties || {};
      const layer = ORDER.includes(p.layer) ? p.layer : "place";
      let tt = "";
      if (layer === "place") tt = placeTitle(p);
      else if (layer === "stop") tt = stopTitle(p);
      else if (layer === "track") tt = `${t("map.track")} ${p.vehicle_id || ""} ${p.manifest_id ? `· ${t("manifest")} ${p.manifest_id}` : ""}`;
      else if (layer === "enterprise") tt = `${label("maprole", p.role)}: ${p.name || ""} (${p.enterprise_id || ""})${p.county ? ` · ${p.county}` : ""}`;
      else if (layer === "site") tt = t("map.site");
      else if (layer === "tip") tt = t("map.tip");
      else if (layer === "event") tt = `${label("event", p.category)} ${(p.start || "").replace("T", " ").slice(0, 16)}`;
      drawGeometry(layers[layer], f.geometry, classOf(layer, p), layer, p, tt);
    }
    placeNames(layers.names, [...inView, ...features.filter((f) => f.properties?.layer === "place")]);
    for (const l of ORDER) svg.append(layers[l]);
    legend();
    const self = features.find((f) => f.properties?.role === "self" && f.geometry.type === "Point");
    if (self) {
      const [x, y] = px(self.geometry.coordinates);
      svg.append(s("text", { class: "map-label", x: x + 14, y: y - 8 }, self.properties.name || ""));
    }
    scaleBar();
  }

  function scaleBar() {
    const mPerPx = (DEG_M * view.span) / W; // projected degrees are degrees of latitude
    const target = mPerPx * 120;
    const e = 10 ** Math.floor(Math.log10(target));
    const nice = [5, 2, 1].map((f) => f * e).find((v) => v <= target) || e;
    const len = nice / mPerPx;
    const text = nice >= 1000 ? `${nice / 1000} km` : `${nice} m`;
    svg.append(s("g", { class: "scalebar" }, s("rect", { x: 10, y: H - 30, width: len + 16, height: 22, class: "scale-bg" }),
      s("line", { x1: 18, x2: 18 + len, y1: H - 14, y2: H - 14 }),
      s("line", { x1: 18, x2: 18, y1: H - 18, y2: H - 10 }), s("line", { x1: 18 + len, x2: 18 + len, y1: H - 18, y2: H - 10 }),
      s("text", { x: 18 + len / 2, y: H - 19, "text-anchor": "middle" }, text)),
    s("g", { class: "north" }, s("path", { d: `M${W - 24},14L${W - 17},32L${W - 24},28L${W - 31},32Z` }),
      s("text", { x: W - 24, y: 46, "text-anchor": "middle" }, "N")));
  }

  const keys = [["ent:self", "ent self", "star"], ["ent:partner", "ent partner", "rect"], ["ent:linked", "ent linked", "rect"],
    ["site", "site", "diamond"], ["tip", "tip", "pin"], ["stop", "stop", "circle"], ["event", "event", "diamond"], ["track", "track", "line"],
    ["place:river", "place river", "line"], ["place:road", "place road", "line"], ["place:reservoir", "place reservoir", "rect"],
    ["place:karst", "place karst", "tri"], ["place:protected", "place protected", "rect"], ["place:restricted", "place restricted", "rect"],
    ["place:landfill", "place landfill", "rect"], ["place:other", "place other", "tri"]];
  const legendList = h("ul", { class: "legend" });
  function legend() {
    if (!legendList) return;
    legendList.replaceChildren(...keys.filter(([key]) => drawn.has(key)).map(([key, cls, shape]) => h("li", { "data-key": key },
      s("svg", { width: 16, height: 16, viewBox: "0 0 16 16", "aria-hidden": "true", class: "map-key" },
        shape === "line" ? s("line", { x1: 1, x2: 15, y1: 8, y2: 8, class: `${cls} line` })
          : shape === "circle" ? s("circle", { cx: 8, cy: 8, r: 5, class: `${cls} mark` })
            : shape === "tri" ? s("path", { d: "M8,2L14,13L2,13Z", class: `${cls} mark` })
              : shape === "diamond" ? s("path", { d: "M8,1L15,8L8,15L1,8Z", class: `${cls} mark` })
                : shape === "pin" ? s("circle", { cx: 8, cy: 7, r: 6, class: `${cls} mark` })
                  : shape === "star" ? s("path", { d: "M8,1L10,6L15,6L11,9.5L12.5,15L8,11.5L3.5,15L5,9.5L1,6L6,6Z", class: `${cls} mark` })
                    : s("rect", { x: 2, y: 2, width: 12, height: 12, class: `${cls} ${key.startsWith("place") ? "area" : "mark"}` })),
      label("legend", key))));
  }

  let frame = 0;
  const later = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; render(); }); };
  const zoom = (f) => { view.span = Math.min(Math.max(view.span * f, 0.0005), 20); later(); };
  const pan = (dx, dy) => { view.cx += dx * view.span; view.cy += dy * view.span; later(); };
  svg.addEventListener("wheel", (e) => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8); }, { passive: false });
  svg.addEventListener("keydown", (e) => {
    const step = 0.15;
    const act = { "+": () => zoom(0.8), "=": () => zoom(0.8), "-": () => zoom(1.25), ArrowLeft: () => pan(-step, 0),
      ArrowRight: () => pan(step, 0), ArrowUp: () => pan(0, step), ArrowDown: () => pan(0, -step), "0": () => { view = { ...home }; render(); } }[e.key];
    if (act) { e.preventDefault(); act(); }
  });
  let drag = null;
  // the pointer is captured only once it moves, so a tap still reaches the symbol under it
  svg.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY, captured: false }; });
  svg.addEventListener("pointermove", (e) => {
    if (!drag) return;
    if (!drag.captured) {
      if (Math.abs(e.clientX - drag.x0) + Math.abs(e.clientY - drag.y0) < 4) return;
      drag.captured = true;
      svg.setPointerCapture(e.pointerId);
    }
    const r = svg.getBoundingClientRect();
    const f = W / Math.max(1, r.width);
    view.cx -= ((e.clientX - drag.x) * f) / scale();
    view.cy += ((e.clientY - drag.y) * f) / scale();
    drag.x = e.clientX;
    drag.y = e.clientY;
    later();
  });
  svg.addEventListener("pointerup", () => { drag = null; });
  render();

  caption.append(legendList, info, h("p", { id: helpId, class: "muted small" }, t("map.help")));
  const controls = h("div", { class: "map-controls" },
    h("button", { type: "button", "aria-label": t("map.zoomIn"), title: t("map.zoomIn"), onclick: () => zoom(0.7) }, "+"),
    h("button", { type: "button", "aria-label": t("map.zoomOut"), title: t("map.zoomOut"), onclick: () => zoom(1.4) }, "−"),
    h("button", { type: "button", "aria-label": t("map.reset"), title: t("map.reset"), onclick: () => { view = { ...home }; render(); } }, "⟲"));
  return h("figure", { class: "map-figure" }, h("div", { class: "map-box" }, svg, controls), caption);
}
