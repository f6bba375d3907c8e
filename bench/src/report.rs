//! Markdown tables from a results directory (the JSON files the commands write).

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::de::DeserializeOwned;

use crate::load::ScenarioResult;
use crate::suites::{ColdReport, DirectRow, EfsReport, SoakReport};

fn read<T: DeserializeOwned>(dir: &Path, name: &str) -> Option<T> {
    let text = std::fs::read_to_string(dir.join(name)).ok()?;
    serde_json::from_str(&text).ok()
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub fn markdown(dir: &Path) -> Result<String> {
    let mut o = String::new();
    if let Some(load) = read::<Vec<ScenarioResult>>(dir, "load.json") {
        writeln!(
            o,
            "### HTTP load (bridge behind the bench HTTP front, nginx, and `cargo lambda watch` for reference)\n"
        )?;
        writeln!(
            o,
            "| target | scenario | conc | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | status | bytes/req |"
        )?;
        writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")?;
        for r in &load {
            let s = &r.summary;
            let status: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}×{v}")).collect();
            writeln!(
                o,
                "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
                r.target,
                r.scenario,
                r.concurrency,
                s.requests,
                s.rps,
                s.p50_ms,
                s.p90_ms,
                s.p99_ms,
                s.max_ms,
                status.join(" "),
                s.bytes / s.requests.max(1)
            )?;
        }
        // bridge vs nginx ratios for static scenarios at the same concurrency
        let mut ratio_rows = Vec::new();
        for r in load.iter().filter(|r| r.target == "bridge") {
            if let Some(n) = load.iter().find(|n| {
                n.target == "nginx" && n.scenario == r.scenario && n.concurrency == r.concurrency
            }) {
                ratio_rows.push(format!(
                    "| {} | {} | {:.2} | {:.2} | {:.1}× | {:.0} | {:.0} | {:.1}× |",
                    r.scenario,
                    r.concurrency,
                    r.summary.p50_ms,
                    n.summary.p50_ms,
                    r.summary.p50_ms / n.summary.p50_ms.max(0.001),
                    r.summary.rps,
                    n.summary.rps,
                    n.summary.rps / r.summary.rps.max(0.001)
                ));
            }
        }
        if !ratio_rows.is_empty() {
            writeln!(
                o,
                "\n### Static files: bridge vs nginx (same files, same client)\n"
            )?;
            writeln!(
                o,
                "| scenario | conc | bridge p50 ms | nginx p50 ms | p50 ratio | bridge req/s | nginx req/s | nginx/bridge req/s |"
            )?;
            writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|")?;
            for r in ratio_rows {
                writeln!(o, "{r}")?;
            }
        }
        writeln!(o)?;
    }
    if let Some(rows) = read::<Vec<DirectRow>>(dir, "direct.json") {
        writeln!(
            o,
            "### Bridge-added latency (PHP pages, interleaved, one at a time)\n"
        )?;
        writeln!(
            o,
            "Direct = one FastCGI request to php-fpm (no bridge). Bridge = Runtime API invoke → bootstrap → php-fpm → response JSON, no HTTP front.\n"
        )?;
        writeln!(
            o,
            "| scenario | n | direct p50 ms | bridge p50 ms | added p50 ms | direct mean | bridge mean | added mean ms | bridge/direct p50 |"
        )?;
        writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for r in &rows {
            writeln!(
                o,
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} |",
                r.scenario,
                r.direct.requests,
                r.direct.p50_ms,
                r.bridge.p50_ms,
                r.added_p50_ms,
                r.direct.mean_ms,
                r.bridge.mean_ms,
                r.added_mean_ms,
                r.bridge.p50_ms / r.direct.p50_ms.max(0.001)
            )?;
        }
        // HTTP through cargo lambda watch, if load.json has the same scenarios at concurrency 1
        if let Some(load) = read::<Vec<ScenarioResult>>(dir, "load.json") {
            let mut lines = Vec::new();
            for r in &rows {
                if let Some(h) = load.iter().find(|l| {
                    l.target == "bridge" && l.scenario == r.scenario && l.concurrency == 1
                }) {
                    lines.push(format!(
                        "| {} | {:.2} | {:.2} | {:.2} |",
                        r.scenario,
                        r.direct.p50_ms,
                        h.summary.p50_ms,
                        h.summary.p50_ms - r.direct.p50_ms
                    ));
                }
            }
            if !lines.is_empty() {
                writeln!(
                    o,
                    "\nThrough HTTP (bench front → Runtime API emulator → bootstrap, concurrency 1) vs direct:\n"
                )?;
                writeln!(o, "| scenario | direct p50 ms | HTTP p50 ms | added ms |")?;
                writeln!(o, "|---|---:|---:|---:|")?;
                for l in lines {
                    writeln!(o, "{l}")?;
                }
            }
        }
        writeln!(o)?;
    }
    for (file, which) in [
        (
            "cold.json",
            "the layer's own php-fpm (dist/ zip mounted at /opt, as on Lambda)",
        ),
        // results of runs before the layer's PHP was the only one (Debian's php-fpm8.2 on the host)
        (
            "cold-layer.json",
            "the layer's own php-fpm (dist/ zip mounted at /opt, as on Lambda)",
        ),
    ] {
        let Some(c) = read::<ColdReport>(dir, file) else {
            continue;
        };
        writeln!(
            o,
            "### Cold start with {which}: `bootstrap` process start → first home page ({} runs each)\n",
            c.reps
        )?;
        writeln!(
            o,
            "| storage | opcache | total median ms (min–max) | init ms (spawn → ready) | first request ms | warm render ms | first / warm | total / warm |"
        )?;
        writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|")?;
        for v in &c.variants {
            writeln!(
                o,
                "| {} | {} | {:.1} ({:.1}–{:.1}) | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
                v.storage,
                v.name,
                v.total.median,
                v.total.min,
                v.total.max,
                v.init.median,
                v.first_request.median,
                v.warm.median,
                v.first_over_warm,
                v.cold_over_warm
            )?;
        }
        writeln!(
            o,
            "\nphp-fpm: `{}`. Runtime directory (the opcache file cache the seed is restored into): {}. RSS idle after init: bridge {} MiB, php-fpm (master + worker) {} MiB; after the first cold run and its warm home pages: bridge {} MiB, php-fpm {} MiB.\n",
            c.php_fpm,
            if c.runtime_fs.is_empty() {
                "the work dir's file system"
            } else {
                c.runtime_fs.as_str()
            },
            mib(c.rss_idle_bridge_kib),
            mib(c.rss_idle_php_fpm_kib),
            mib(c.rss_after_warm_bridge_kib),
            mib(c.rss_after_warm_php_fpm_kib)
        )?;
    }
    if let Some(s) = read::<SoakReport>(dir, "soak.json") {
        writeln!(
            o,
            "### Soak: {} mixed requests through the bridge (one at a time)\n",
            s.requests
        )?;
        let status: Vec<String> = s.status.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        writeln!(
            o,
            "| requests | seconds | errors (5xx/transport) | unexpected status | status | bridge RSS start → end (max) MiB | php-fpm RSS start → end MiB | php-fpm restarts |"
        )?;
        writeln!(o, "|---:|---:|---:|---:|---|---|---|---:|")?;
        writeln!(
            o,
            "| {} | {:.1} | {} | {} | {} | {} → {} ({}) | {} → {} | {} |\n",
            s.requests,
            s.seconds,
            s.errors,
            s.unexpected_status,
            status.join(" "),
            mib(s.rss_bridge_start_kib),
            mib(s.rss_bridge_end_kib),
            mib(s.rss_bridge_max_kib),
            mib(s.rss_php_fpm_start_kib),
            mib(s.rss_php_fpm_end_kib),
            s.php_fpm_restarts_seen
        )?;
        writeln!(o, "| soak scenario | n | p50 ms | p99 ms | max ms |")?;
        writeln!(o, "|---|---:|---:|---:|---:|")?;
        for (name, x) in &s.per_scenario {
            writeln!(
                o,
                "| {name} | {} | {:.2} | {:.2} | {:.2} |",
                x.requests, x.p50_ms, x.p99_ms, x.max_ms
            )?;
        }
        writeln!(o)?;
    }
    if let Some(e) = read::<EfsReport>(dir, "efs.json") {
        writeln!(
            o,
            "### EFS latency simulator ({} µs per operation; warm phase ≥ {:.0} s and ≥ 3 back-to-back home pages)\n",
            e.delay_us, e.warm_seconds
        )?;
        let local = e.local_warm.as_ref().map(|l| l.p50_ms);
        if let Some(l) = local {
            writeln!(
                o,
                "Local disk, same build and settings: warm home page p50 **{l:.2} ms** (the \"× local\" column divides by it).\n"
            )?;
        }
        writeln!(
            o,
            "| kernel cache TTL | variant | cold: init + first page ms | cold first request ms | cold FS round trips | warm p50 ms | × local | warm p99 ms | FS round trips / warm page (mean) | worst warm page | static CSS p50 ms | FS round trips / CSS |"
        )?;
        writeln!(
            o,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        )?;
        for v in &e.variants {
            let ratio = local
                .filter(|l| *l > 0.0)
                .map(|l| format!("{:.2}", v.warm.p50_ms / l))
                .unwrap_or_else(|| "-".into());
            writeln!(
                o,
                "| {} ms | {} | {:.0} | {:.0} | {} | {:.2} | {} | {:.2} | {:.1} | {} | {:.2} | {:.1} |",
                v.ttl_ms,
                v.name,
                v.cold_total_ms,
                v.cold_first_request_ms,
                v.cold_fs_ops.round_trips(),
                v.warm.p50_ms,
                ratio,
                v.warm.p99_ms,
                v.warm_ops_per_request,
                v.warm_ops_max_request,
                v.static_css.p50_ms,
                v.static_ops_per_request
            )?;
        }
        writeln!(o)?;
        writeln!(o, "Warm-phase operations by kind:\n")?;
        writeln!(
            o,
            "| TTL | variant | pages | lookup | getattr | access | open | opendir+readdir | read |"
        )?;
        writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|")?;
        for v in &e.variants {
            let w = &v.warm_ops;
            writeln!(
                o,
                "| {} ms | {} | {} | {} | {} | {} | {} | {} | {} |",
                v.ttl_ms,
                v.name,
                v.warm.requests,
                w.lookup,
                w.getattr,
                w.access,
                w.open,
                w.opendir + w.readdir,
                w.read
            )?;
        }
        writeln!(o)?;
        let traced: Vec<_> = e.variants.iter().filter(|v| !v.traces.is_empty()).collect();
        if !traced.is_empty() {
            writeln!(
                o,
                "Where one warm request's round trips go (after two warm-up requests of the same page):\n"
            )?;
            writeln!(
                o,
                "| TTL | variant | page | status | ms | round trips | lookup | getattr | access | open | opendir+readdir | read | top path classes (round trips) |"
            )?;
            writeln!(
                o,
                "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
            )?;
            for v in traced {
                for t in &v.traces {
                    let k = |i: usize| t.by_kind.get(i).copied().unwrap_or(0);
                    let top: Vec<String> = t
                        .by_class
                        .iter()
                        .take(5)
                        .map(|(c, n, _)| format!("{c} {n}"))
                        .collect();
                    writeln!(
                        o,
                        "| {} ms | {} | {} `{}` | {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
                        v.ttl_ms,
                        v.name,
                        t.page,
                        t.path,
                        t.status,
                        t.ms,
                        t.round_trips,
                        k(0),
                        k(1),
                        k(2),
                        k(4),
                        k(5) + k(6),
                        k(7),
                        top.join(", ")
                    )?;
                }
            }
            writeln!(o)?;
        }
    }
    Ok(o)
}
