//! `--plot FILE.svg`: recall@k (x) against queries per second (y, log
//! scale), one line per configuration and filter, peers' points from a
//! peer-runner results file beside ours. Hand-written SVG: a few hundred
//! bytes of markup do not need a plotting crate.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::Value;

use super::run::Report;

/// One line of the plot: `(recall, qps)` points in sweep order.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The legend text.
    pub label: String,
    /// The filter the line was measured under (`None`: unfiltered).
    pub filter: Option<String>,
    /// `(recall, qps)`.
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed with hollow markers (peers).
    pub peer: bool,
}

/// The lines of a peer runner's results file (`shared/bench`'s
/// `results/<profile>.json`): each run's unfiltered sweep, and its filtered
/// sweeps one line per filter (`recall10` and single-thread `qps`).
pub fn read_peers(path: &Path) -> Result<Vec<Line>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let runs = doc["runs"].as_array().with_context(|| {
        format!(
            "{}: no `runs` (a peer runner's results file?)",
            path.display()
        )
    })?;
    let mut lines = Vec::new();
    let point = |p: &Value| Some((p["recall10"].as_f64()?, p["qps"].as_f64()?));
    for run in runs {
        let label = run["label"].as_str().unwrap_or("peer");
        if let Some(sweep) = run["sweep"].as_array() {
            let points: Vec<_> = sweep.iter().filter_map(point).collect();
            if !points.is_empty() {
                lines.push(Line {
                    label: label.to_string(),
                    filter: None,
                    points,
                    peer: true,
                });
            }
        }
        let mut by_filter: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
        for p in run["filtered"].as_array().into_iter().flatten() {
            let name = p["filter"].as_str().unwrap_or("filter").to_string();
            if let Some(xy) = point(p) {
                match by_filter.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, pts)) => pts.push(xy),
                    None => by_filter.push((name, vec![xy])),
                }
            }
        }
        for (name, points) in by_filter {
            lines.push(Line {
                label: format!("{label} {name}"),
                filter: Some(name),
                points,
                peer: true,
            });
        }
    }
    Ok(lines)
}

/// Our lines: one per configuration and filter (single-thread QPS, as the
/// peer runner measures).
pub fn our_lines(r: &Report) -> Vec<Line> {
    r.configs
        .iter()
        .flat_map(|c| {
            c.series.iter().map(move |s| Line {
                label: match &s.filter {
                    Some(f) => format!("{} {f}", c.config.label),
                    None => c.config.label.clone(),
                },
                filter: s.filter.clone(),
                points: s.sweep.iter().map(|p| (p.recall, p.qps_single)).collect(),
                peer: false,
            })
        })
        .collect()
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SVG document. Peer lines whose filter we did not run are left out,
/// so that the plot compares like with like.
pub fn svg(r: &Report, peers: &[Line]) -> String {
    let ours = our_lines(r);
    let ran = |l: &Line| ours.iter().any(|o| o.filter == l.filter);
    let lines: Vec<&Line> = ours.iter().chain(peers.iter().filter(|l| ran(l))).collect();
    render(
        &format!(
            "{} ({}, k = {}): recall@{} vs QPS, one thread",
            r.dataset.name, r.target, r.k, r.k
        ),
        &format!("recall@{}", r.k),
        &lines,
    )
}

/// Draws `lines` on recall (x, linear) against QPS (y, log10).
pub fn render(title: &str, x_label: &str, lines: &[&Line]) -> String {
    let (w, h) = (900.0, 560.0);
    let (left, right, top, bottom) = (80.0, 260.0, 40.0, 60.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let all: Vec<(f64, f64)> = lines
        .iter()
        .flat_map(|l| l.points.iter().copied())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && *y > 0.0)
        .collect();
    let xmin = all.iter().map(|p| p.0).fold(1.0, f64::min);
    // Recall axis: from a tenth below the lowest point (rounded down) to 1.
    let x0 = ((xmin - 0.02).max(0.0) * 10.0).floor() / 10.0;
    let x1 = 1.0;
    let ymin = all.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let ymax = all.iter().map(|p| p.1).fold(0.0, f64::max);
    let (y0, y1) = if all.is_empty() {
        (0.0, 1.0)
    } else {
        (
            ymin.log10().floor(),
            ymax.log10().ceil().max(ymin.log10().floor() + 1.0),
        )
    };
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| top + ph - (y.log10() - y0) / (y1 - y0) * ph;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        left + pw / 2.0,
        escape(title)
    );
    // Grid and ticks: about five to ten recall ticks; QPS at powers of ten
    // with 2x and 5x minor lines.
    let span = x1 - x0;
    let step = [0.01, 0.02, 0.05, 0.1]
        .into_iter()
        .find(|st| span / st <= 10.0 + 1e-9)
        .unwrap_or(0.1);
    let ticks = (span / step + 1e-6).floor() as usize;
    for t in 0..=ticks {
        let x = x0 + t as f64 * step;
        let px = sx(x);
        let _ = writeln!(
            s,
            r##"<line x1="{px:.1}" y1="{top}" x2="{px:.1}" y2="{:.1}" stroke="#e0e0e0"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{x:.2}</text>"##,
            top + ph,
            top + ph + 16.0
        );
    }
    for e in (y0 as i32)..=(y1 as i32) {
        let base = 10f64.powi(e);
        for (m, major) in [(1.0, true), (2.0, false), (5.0, false)] {
            let v = base * m;
            if v.log10() > y1 + 1e-9 {
                continue;
            }
            let py = sy(v);
            let stroke = if major { "#c8c8c8" } else { "#eeeeee" };
            let _ = writeln!(
                s,
                r#"<line x1="{left}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="{stroke}"/>"#,
                left + pw
            );
            if major {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                    left - 6.0,
                    py + 4.0,
                    qps_tick(v)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        h - 18.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle">queries per second (log scale)</text>"#,
        top + ph / 2.0
    );
    for (i, l) in lines.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && *y > 0.0 && *x >= x0)
            .map(|(x, y)| (sx(x), sy(y)))
            .collect();
        let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let dash = if l.peer {
            r#" stroke-dasharray="5,4""#
        } else {
            ""
        };
        let _ = writeln!(
            s,
            r#"<polyline class="{}" points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
            if l.peer { "peer" } else { "ours" },
            path.join(" ")
        );
        let fill = if l.peer { "white" } else { color };
        for (x, y) in &pts {
            let _ = writeln!(
                s,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{fill}" stroke="{color}"/>"#
            );
        }
        let ly = top + 10.0 + i as f64 * 18.0;
        let lx = left + pw + 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            escape(&l.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn qps_tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_read_from_a_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peers.json");
        std::fs::write(
            &path,
            r#"{"runs": [
                {"label": "hnswlib", "threads": 1},
                {"label": "hnswlib", "threads": 2,
                 "sweep": [{"ef": 32, "recall10": 0.9, "qps": 1000.0}, {"ef": 64, "recall10": 0.95, "qps": 600.0}],
                 "filtered": [{"ef": 64, "recall10": 0.8, "qps": 300.0, "filter": "sel10"}]}
            ]}"#,
        )
        .unwrap();
        let lines = read_peers(&path).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].label, "hnswlib");
        assert_eq!(lines[0].points, vec![(0.9, 1000.0), (0.95, 600.0)]);
        assert_eq!(lines[1].label, "hnswlib sel10");
        assert_eq!(lines[1].filter.as_deref(), Some("sel10"));
        assert!(lines.iter().all(|l| l.peer));
    }

    #[test]
    fn the_svg_has_one_polyline_per_line_and_log_ticks() {
        let a = Line {
            label: "a <m16>".into(),
            filter: None,
            points: vec![(0.8, 150.0), (0.99, 40_000.0)],
            peer: false,
        };
        let b = Line {
            label: "b".into(),
            filter: None,
            points: vec![(0.9, 2_000.0)],
            peer: true,
        };
        let svg = render("t", "recall", &[&a, &b]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches(r#"class="peer""#).count(), 1);
        // Decades from 100 to 100k are labelled.
        for tick in [">100<", ">1k<", ">10k<", ">100k<"] {
            assert!(svg.contains(tick), "{tick} missing");
        }
        assert!(svg.contains("a &lt;m16&gt;"));
        // Recall from 0.70 to 1.00 in steps of 0.05, both ends labelled.
        for tick in [">0.70<", ">0.85<", ">1.00<"] {
            assert!(svg.contains(tick), "{tick} missing");
        }
    }
}
