//! `czip trace --html`: one self-contained page (inline CSS and JS, a
//! Content-Security-Policy that allows no network at all). The trace is
//! embedded once, compactly, as arrays of numbers in one JSON blob; the
//! script (`page.js`) paints a chunk's tokens only when it nears the
//! viewport, so a 1 MB text stays usable.
//!
//! Colour: a token's bits on viridis (perceptually uniform, readable in grey
//! and by the colour-blind), [`COLORS`] classes of `MAX_BITS / COLORS` bits
//! each, the last one open-ended.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use czip::pipeline::{TextTrace, TOP_K};
use czip::Model;
use serde_json::json;

use super::escape::escape_token;
use super::Summary;

/// Colour classes of the scale.
const COLORS: usize = 32;
/// Bits at the top of the scale (tokens costing more get the last colour).
const MAX_BITS: f64 = 16.0;

/// Matplotlib's viridis at 0, 0.1, …, 1 (sRGB); the scale interpolates
/// linearly between these stops.
const VIRIDIS: [[u8; 3]; 11] = [
    [0x44, 0x01, 0x54],
    [0x48, 0x24, 0x75],
    [0x41, 0x44, 0x87],
    [0x35, 0x5f, 0x8d],
    [0x2a, 0x78, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x22, 0xa8, 0x84],
    [0x44, 0xbf, 0x70],
    [0x7a, 0xd1, 0x51],
    [0xbd, 0xdf, 0x26],
    [0xfd, 0xe7, 0x25],
];

/// The colour of class `i` of [`COLORS`] (its midpoint on the scale).
fn color(i: usize) -> [u8; 3] {
    let x = (i as f64 + 0.5) / COLORS as f64 * (VIRIDIS.len() - 1) as f64;
    let j = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let t = x - j as f64;
    let mut c = [0u8; 3];
    for (k, v) in c.iter_mut().enumerate() {
        let (a, b) = (f64::from(VIRIDIS[j][k]), f64::from(VIRIDIS[j + 1][k]));
        *v = (a + (b - a) * t).round() as u8;
    }
    c
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// Black or white text, whichever contrasts more with `c` (WCAG luminance).
fn text_on(c: [u8; 3]) -> &'static str {
    let lin = |v: u8| {
        let s = f64::from(v) / 255.0;
        if s <= 0.04045 { s / 12.92 } else { ((s + 0.055) / 1.055).powf(2.4) }
    };
    let l = 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
    if (l + 0.05) / 0.05 > 1.05 / (l + 0.05) { "#000" } else { "#fff" }
}

/// `xs` as little-endian u32s in base64 (RFC 4648, padded): the page
/// decodes it into a `Uint32Array` with `atob`, much faster than parsing
/// millions of JSON numbers and a third smaller.
fn base64_u32(xs: impl Iterator<Item = u32>) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes: Vec<u8> = xs.flat_map(u32::to_le_bytes).collect();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for g in bytes.chunks(3) {
        let n = (u32::from(g[0]) << 16) | (u32::from(*g.get(1).unwrap_or(&0)) << 8) | u32::from(*g.get(2).unwrap_or(&0));
        for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if k <= g.len() { char::from(ABC[(n >> shift & 63) as usize]) } else { '=' });
        }
    }
    out
}

/// `s` safe inside HTML text and attribute values.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The page title's name for the input.
pub fn title_of(path: &std::path::Path) -> String {
    if path.as_os_str() == "-" {
        return "stdin".into();
    }
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The embedded data: token ids, their frequencies and the top-K `(id,
/// freq)` pairs flattened (each a [`base64_u32`] array), per-chunk bits,
/// and the text of every id used.
fn data(model: &Model, trace: &TextTrace, summary: &Summary, palette: &[String]) -> String {
    let costs: Vec<_> = trace.chunks.iter().flatten().collect();
    let mut vocab: BTreeMap<u32, (String, String)> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut text_of = |id: u32| {
        vocab.entry(id).or_insert_with(|| {
            let bytes = model.tokenizer().token_bytes(id).unwrap_or(b"?");
            let escaped = escape_token(bytes);
            match std::str::from_utf8(bytes) {
                Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => (s.to_string(), escaped),
                _ => {
                    bad.push(id);
                    (escaped.clone(), escaped)
                }
            }
        });
    };
    let mut top = Vec::with_capacity(costs.len() * 2 * TOP_K);
    for c in &costs {
        text_of(c.token);
        for &(id, f) in &c.top {
            if f > 0 {
                text_of(id);
            }
            top.push(id);
            top.push(f);
        }
    }
    let compare = summary.departure.as_ref().and_then(|d| {
        let c = d.chunk?;
        let k = 1usize << trace.chunk_log2;
        let index = (c * k + d.position.unwrap_or(0)).min(costs.len().saturating_sub(1));
        Some(json!({"index": index, "chunk": c, "position": d.position}))
    });
    let vocab: serde_json::Map<String, serde_json::Value> = vocab.into_iter().map(|(id, (shown, escaped))| (id.to_string(), json!([shown, escaped]))).collect();
    bad.sort_unstable();
    let v = json!({
        "K": 1usize << trace.chunk_log2,
        "total": trace.total,
        "topk": TOP_K,
        "colors": COLORS,
        "maxBits": MAX_BITS,
        "palette": palette,
        "tok": base64_u32(costs.iter().map(|c| c.token)),
        "freq": base64_u32(costs.iter().map(|c| c.freq)),
        "top": base64_u32(top.into_iter()),
        "chunkBits": (0..trace.chunks.len()).map(|c| super::summary::round6(trace.chunk_bits(c))).collect::<Vec<_>>(),
        "vocab": vocab,
        "bad": bad,
        "compare": compare,
    });
    // Inside <script>: no "</" may appear (JSON allows "<\/").
    v.to_string().replace("</", "<\\/")
}

fn summary_table(s: &Summary) -> String {
    let mut t = String::from("<table class=\"sizes\"><tr><th></th><th>bytes</th><th>ratio</th><th>bits/token</th><th></th></tr>");
    for r in s.rows() {
        let bytes = if r.is_estimate() { format!("{:.1}", r.bytes) } else { format!("{}", r.bytes) };
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{bytes}</td><td>{:.4}</td><td>{:.3}</td><td class=\"note\">{}</td></tr>",
            esc(r.name),
            s.ratio(r.bytes),
            s.bits_per_token(r.bytes),
            esc(r.note)
        );
    }
    t.push_str("</table>");
    t
}

fn compare_banner(s: &Summary) -> String {
    let Some(d) = &s.departure else { return String::new() };
    let mut b = format!("<div id=\"compare\" role=\"note\"><p><b>compared with {}</b></p>", esc(&d.other));
    for l in &d.lines {
        let _ = write!(b, "<p>{}</p>", esc(l));
    }
    if d.chunk.is_some() {
        b.push_str("<button type=\"button\" id=\"go-departure\">show the first departing token</button>");
    }
    b.push_str("</div>");
    b
}

fn legend(palette: &[String]) -> String {
    let mut l = String::from("<div class=\"scale\" aria-hidden=\"true\">");
    for p in palette {
        let _ = write!(l, "<span style=\"background:{p}\"></span>");
    }
    l.push_str("</div><div class=\"ticks\">");
    for b in (0..=MAX_BITS as u32).step_by(2) {
        let plus = if f64::from(b) >= MAX_BITS { "+" } else { "" };
        let _ = write!(l, "<span>{b}{plus}</span>");
    }
    l.push_str("</div>");
    l
}

/// The whole page.
pub fn page(model: &Model, trace: &TextTrace, summary: &Summary, title: &str) -> String {
    let colors: Vec<[u8; 3]> = (0..COLORS).map(color).collect();
    let palette: Vec<String> = colors.iter().map(|&c| hex(c)).collect();
    let mut classes = String::new();
    for (i, &c) in colors.iter().enumerate() {
        let _ = writeln!(classes, ".c{i}{{background:{};color:{}}}", hex(c), text_on(c));
    }
    let title = esc(title);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>czip trace · {title}</title>
<style>
{css}{classes}</style>
</head>
<body>
<header><h1>What the model pays for each token · {title}</h1>
<p class="sub">{model} · {input} · {sum_bits:.1} bits in all</p></header>
{banner}
<div id="top">
<section id="legend"><h2>bits per token</h2>{legend}<p>Each token is painted by its cost, −log2(freq/total) of the frequency table that codes it. Hover or focus a token (Tab, then ←/→) for its numbers and the model's top-{topk} predictions there. Dashed rules are chunk boundaries: each chunk starts with no context.</p>
<h2 style="margin-top:12px">bits per token, by chunk</h2><svg id="bars" role="img" aria-label="bits per token of each chunk"></svg><div class="axis"><span id="bars-n"></span><span id="bars-max"></span></div></section>
<section id="summary"><h2>summary</h2>{table}</section>
</div>
<main id="text" aria-label="the text, token by token"></main>
<div id="tip" role="tooltip" hidden></div>
<script type="application/json" id="data">{data}</script>
<script>
{js}</script>
</body>
</html>
"#,
        css = include_str!("page.css"),
        model = esc(&summary.model),
        input = esc(&summary.input_line()),
        sum_bits = summary.sum_bits,
        banner = compare_banner(summary),
        legend = legend(&palette),
        topk = TOP_K,
        table = summary_table(summary),
        data = data(model, trace, summary, &palette),
        js = include_str!("page.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_from_viridis_purple_to_yellow() {
        assert_eq!(hex(color(0)), "#450659");
        assert_eq!(hex(color(COLORS - 1)), "#f3e625");
        assert_eq!(text_on(color(0)), "#fff");
        assert_eq!(text_on(color(COLORS - 1)), "#000");
    }

    #[test]
    fn base64_of_little_endian_words() {
        assert_eq!(base64_u32([].into_iter()), "");
        assert_eq!(base64_u32([1].into_iter()), "AQAAAA==");
        assert_eq!(base64_u32([0x0403_0201, 0xffff_ffff].into_iter()), "AQIDBP////8=");
    }
}
