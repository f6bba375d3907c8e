//! Latency recording (HDR histogram, microseconds) and the summary every command reports.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Collects latencies, status codes, bytes and errors of one run (one per worker, merged).
#[derive(Clone)]
pub struct Recorder {
    pub hist: Histogram<u64>,
    pub status: BTreeMap<String, u64>,
    pub bytes: u64,
    pub errors: u64,
    pub unexpected: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder {
            // 1 µs .. 10 min, 3 significant digits
            hist: Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"),
            status: BTreeMap::new(),
            bytes: 0,
            errors: 0,
            unexpected: 0,
        }
    }

    /// Records one answered request. 5xx counts as an error; a status other than `expect`
    /// counts as unexpected.
    pub fn record(&mut self, latency: Duration, status: u16, bytes: u64, expect: u16) {
        self.hist
            .saturating_record(latency.as_micros().max(1) as u64);
        *self.status.entry(status.to_string()).or_default() += 1;
        self.bytes += bytes;
        if status >= 500 {
            self.errors += 1;
        }
        if status != expect {
            self.unexpected += 1;
        }
    }

    /// Records a request that got no HTTP answer (connect/timeout/protocol error).
    pub fn record_failure(&mut self, latency: Duration, what: &str) {
        self.hist
            .saturating_record(latency.as_micros().max(1) as u64);
        *self.status.entry(format!("error:{what}")).or_default() += 1;
        self.errors += 1;
        self.unexpected += 1;
    }

    pub fn merge(&mut self, other: &Recorder) {
        self.hist.add(&other.hist).expect("same histogram bounds");
        for (k, v) in &other.status {
            *self.status.entry(k.clone()).or_default() += v;
        }
        self.bytes += other.bytes;
        self.errors += other.errors;
        self.unexpected += other.unexpected;
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// Latency at percentile `p` (0..=100) in ms.
    pub fn pct_ms(&self, p: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_percentile(p) as f64 / 1000.0
    }

    pub fn summary(&self, elapsed: Duration) -> Summary {
        let n = self.count();
        let secs = elapsed.as_secs_f64();
        Summary {
            requests: n,
            seconds: round(secs, 3),
            rps: if secs > 0.0 {
                round(n as f64 / secs, 1)
            } else {
                0.0
            },
            mean_ms: round(
                if n > 0 {
                    self.hist.mean() / 1000.0
                } else {
                    0.0
                },
                3,
            ),
            min_ms: round(
                if n > 0 {
                    self.hist.min() as f64 / 1000.0
                } else {
                    0.0
                },
                3,
            ),
            p50_ms: round(self.pct_ms(50.0), 3),
            p90_ms: round(self.pct_ms(90.0), 3),
            p99_ms: round(self.pct_ms(99.0), 3),
            max_ms: round(
                if n > 0 {
                    self.hist.max() as f64 / 1000.0
                } else {
                    0.0
                },
                3,
            ),
            status: self.status.clone(),
            bytes: self.bytes,
            errors: self.errors,
            unexpected_status: self.unexpected,
            curve: self.curve(),
        }
    }

    /// (percentile, ms) points for a latency-by-percentile plot: 0..99.99 on a log-ish scale.
    pub fn curve(&self) -> Vec<(f64, f64)> {
        if self.hist.is_empty() {
            return Vec::new();
        }
        let mut pts = Vec::new();
        let mut p = 0.0f64;
        while p < 99.999 {
            pts.push((round(p, 4), round(self.pct_ms(p), 3)));
            // step finer as we approach the tail: 1/20 of the remaining distance to 100
            p += ((100.0 - p) / 20.0).max(0.001);
        }
        pts.push((100.0, round(self.hist.max() as f64 / 1000.0, 3)));
        pts
    }
}

pub fn round(v: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (v * m).round() / m
}

/// What a run reports (serialized into the JSON results).
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct Summary {
    pub requests: u64,
    pub seconds: f64,
    pub rps: f64,
    pub mean_ms: f64,
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub status: BTreeMap<String, u64>,
    pub bytes: u64,
    pub errors: u64,
    pub unexpected_status: u64,
    /// (percentile, ms) points of the latency distribution.
    #[serde(default)]
    pub curve: Vec<(f64, f64)>,
}

/// Median of a small sample (ms values), e.g. of cold-start repetitions.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// min / median / max / mean of a small sample.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default)]
pub struct Spread {
    pub n: usize,
    pub min: f64,
    pub median: f64,
    pub mean: f64,
    pub max: f64,
}

pub fn spread(values: &[f64]) -> Spread {
    if values.is_empty() {
        return Spread::default();
    }
    let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Spread {
        n: values.len(),
        min: round(min, 2),
        median: round(median(values), 2),
        mean: round(values.iter().sum::<f64>() / values.len() as f64, 2),
        max: round(max, 2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_status_and_errors() {
        let mut r = Recorder::new();
        for ms in 1..=100u64 {
            r.record(Duration::from_millis(ms), 200, 10, 200);
        }
        let mut other = Recorder::new();
        other.record(Duration::from_millis(500), 502, 0, 200);
        other.record_failure(Duration::from_millis(1), "timeout");
        r.merge(&other);
        let s = r.summary(Duration::from_secs(2));
        assert_eq!(s.requests, 102);
        assert_eq!(s.rps, 51.0);
        assert!((50.0..=51.1).contains(&s.p50_ms), "{}", s.p50_ms);
        assert!((90.0..=92.1).contains(&s.p90_ms), "{}", s.p90_ms);
        assert!((s.max_ms - 500.0).abs() < 0.5);
        assert_eq!(s.bytes, 1000);
        assert_eq!(s.errors, 2);
        assert_eq!(s.unexpected_status, 2);
        assert_eq!(s.status["200"], 100);
        assert_eq!(s.status["error:timeout"], 1);
        let c = &s.curve;
        assert!(c.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(c.last().unwrap().0, 100.0);
    }

    #[test]
    fn empty_and_spread() {
        let s = Recorder::new().summary(Duration::ZERO);
        assert_eq!((s.requests, s.p99_ms, s.rps), (0, 0.0, 0.0));
        assert!(s.curve.is_empty());
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let sp = spread(&[10.0, 20.0, 30.0, 40.0]);
        assert_eq!(
            (sp.min, sp.median, sp.mean, sp.max),
            (10.0, 25.0, 25.0, 40.0)
        );
    }
}
