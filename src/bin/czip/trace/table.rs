//! The trace as a table on stdout: aligned text, TSV, or JSON lines. Every
//! format shows the same token lines (the first 10 and every 50th, or all)
//! and the same [`Summary`].

use std::io::{BufWriter, Write};

use czip::pipeline::{TextTrace, TokenCost};
use czip::Model;
use serde_json::json;

use super::escape::token_text;
use super::summary::round6;
use super::{shown, Summary};

/// One token line: the cost, its bits and the bits of every token up to it.
struct Line<'t> {
    cost: &'t TokenCost,
    bits: f64,
    cum_bits: f64,
}

/// The lines shown, with the running sum over every token (shown or not).
fn lines<'t>(trace: &'t TextTrace, all: bool) -> Vec<Line<'t>> {
    let mut cum = Vec::with_capacity(trace.token_count());
    let mut run = 0.0;
    for t in trace.chunks.iter().flatten() {
        run += t.bits(trace.total);
        cum.push(run);
    }
    shown(trace, all).map(|(i, cost)| Line { cost, bits: cost.bits(trace.total), cum_bits: cum[i] }).collect()
}

fn emit(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), String> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    f(&mut out).and_then(|()| out.flush()).map_err(|e| format!("cannot write stdout: {e}"))
}

pub fn print_text(model: &Model, trace: &TextTrace, summary: &Summary, all: bool) -> Result<(), String> {
    emit(|out| {
        writeln!(out, "{:>5} {:>5} {:>6}  {:<18} {:>23} {:>7} {:>10}", "chunk", "pos", "token", "text", "freq/total", "bits", "cum bits")?;
        for l in lines(trace, all) {
            let c = l.cost;
            let text = format!("\"{}\"", token_text(model, c.token));
            let ft = format!("{}/{}", c.freq, trace.total);
            writeln!(out, "{:>5} {:>5} {:>6}  {:<18} {:>23} {:>7.2} {:>10.2}", c.chunk, c.position, c.token, text, ft, l.bits, l.cum_bits)?;
        }
        if !all {
            writeln!(out, "(the first 10 tokens and every 50th; --all for every token)")?;
        }
        writeln!(out)?;
        for s in summary.text_lines() {
            writeln!(out, "{s}")?;
        }
        Ok(())
    })
}

pub fn print_tsv(model: &Model, trace: &TextTrace, summary: &Summary, all: bool) -> Result<(), String> {
    emit(|out| {
        writeln!(out, "chunk\tposition\ttoken\ttext\tfreq\ttotal\tbits\tcum_bits")?;
        for l in lines(trace, all) {
            let c = l.cost;
            writeln!(out, "{}\t{}\t{}\t{}\t{}\t{}\t{:.6}\t{:.6}", c.chunk, c.position, c.token, token_text(model, c.token), c.freq, trace.total, l.bits, l.cum_bits)?;
        }
        writeln!(out, "# model\t{}", summary.model)?;
        writeln!(out, "# input\t{}", summary.input_line())?;
        writeln!(out, "# sum_bits\t{:.6}", summary.sum_bits)?;
        writeln!(out, "# size\tbytes\tratio\tbits_per_token")?;
        for r in summary.rows() {
            let bytes = if r.is_estimate() { format!("{:.6}", r.bytes) } else { format!("{}", r.bytes) };
            writeln!(out, "# {}\t{bytes}\t{:.6}\t{:.6}", r.key, summary.ratio(r.bytes), summary.bits_per_token(r.bytes))?;
        }
        if let Some(d) = &summary.departure {
            for line in &d.lines {
                writeln!(out, "# compare\t{}\t{line}", d.other)?;
            }
        }
        Ok(())
    })
}

pub fn print_json(model: &Model, trace: &TextTrace, summary: &Summary, all: bool) -> Result<(), String> {
    emit(|out| {
        for l in lines(trace, all) {
            let c = l.cost;
            let v = json!({
                "chunk": c.chunk,
                "position": c.position,
                "token": c.token,
                "text": token_text(model, c.token),
                "freq": c.freq,
                "total": trace.total,
                "bits": round6(l.bits),
                "cum_bits": round6(l.cum_bits),
            });
            writeln!(out, "{v}")?;
        }
        writeln!(out, "{}", json!({ "summary": summary.json() }))
    })
}
