//! The Prometheus text exposition format, version 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
//!
//! A family is written as its `# HELP` and `# TYPE` lines followed by all of its samples; the
//! callers write each family's samples in one go (the format requires a family's lines to be
//! one group).

use std::fmt::Write as _;

use super::HistogramSnapshot;

/// The content type of a scrape answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A scrape answer being written.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    /// Labels every sample carries (MinIO's `server`), already rendered as `k="v"`.
    common: String,
}

impl Exposition {
    /// An answer whose every sample carries `common` labels.
    pub fn new(common: &[(&str, &str)]) -> Exposition {
        let mut e = Exposition {
            out: String::with_capacity(16 * 1024),
            common: String::new(),
        };
        let mut common_text = String::new();
        for (i, (k, v)) in common.iter().enumerate() {
            if i > 0 {
                common_text.push(',');
            }
            push_label(&mut common_text, k, v);
        }
        e.common = common_text;
        e
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        self.labels(labels, None);
        self.out.push(' ');
        push_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// A family with a single sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The samples of one histogram series (`_bucket` per bound and `+Inf`, `_sum`, `_count`)
    /// under a family started with [`Kind::Histogram`].
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &HistogramSnapshot) {
        let mut bound = String::new();
        for (i, count) in h.cumulative.iter().enumerate() {
            bound.clear();
            match h.bounds.get(i) {
                Some(b) => push_value(&mut bound, *b),
                None => bound.push_str("+Inf"),
            }
            self.out.push_str(name);
            self.out.push_str("_bucket");
            self.labels(labels, Some(&bound));
            let _ = writeln!(self.out, " {count}");
        }
        self.out.push_str(name);
        self.out.push_str("_sum");
        self.labels(labels, None);
        self.out.push(' ');
        push_value(&mut self.out, h.sum);
        self.out.push('\n');
        self.out.push_str(name);
        self.out.push_str("_count");
        self.labels(labels, None);
        let _ = writeln!(self.out, " {}", h.count);
    }

    fn labels(&mut self, labels: &[(&str, &str)], le: Option<&str>) {
        if labels.is_empty() && le.is_none() && self.common.is_empty() {
            return;
        }
        self.out.push('{');
        let mut first = true;
        if !self.common.is_empty() {
            self.out.push_str(&self.common);
            first = false;
        }
        for (k, v) in labels.iter().chain(le.map(|le| ("le", le)).iter()) {
            if !first {
                self.out.push(',');
            }
            first = false;
            push_label(&mut self.out, k, v);
        }
        self.out.push('}');
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn push_label(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Histogram;

    #[test]
    fn renders_families_labels_and_histograms() {
        let mut e = Exposition::new(&[("server", "127.0.0.1:9000")]);
        e.family(
            "minio_s3_requests_total",
            Kind::Counter,
            "Total S3 requests",
        );
        e.sample("minio_s3_requests_total", &[("api", "getobject")], 3.0);
        e.family("x_seconds", Kind::Histogram, "a \"histogram\"\nof things");
        let h = Histogram::new(&[0.5]);
        h.observe(0.25);
        h.observe(0.75);
        e.histogram("x_seconds", &[("op", "a\"b\\c\nd")], &h.snapshot());
        let text = e.finish();
        assert_eq!(
            text,
            "# HELP minio_s3_requests_total Total S3 requests\n\
             # TYPE minio_s3_requests_total counter\n\
             minio_s3_requests_total{server=\"127.0.0.1:9000\",api=\"getobject\"} 3\n\
             # HELP x_seconds a \"histogram\"\\nof things\n\
             # TYPE x_seconds histogram\n\
             x_seconds_bucket{server=\"127.0.0.1:9000\",op=\"a\\\"b\\\\c\\nd\",le=\"0.5\"} 1\n\
             x_seconds_bucket{server=\"127.0.0.1:9000\",op=\"a\\\"b\\\\c\\nd\",le=\"+Inf\"} 2\n\
             x_seconds_sum{server=\"127.0.0.1:9000\",op=\"a\\\"b\\\\c\\nd\"} 1\n\
             x_seconds_count{server=\"127.0.0.1:9000\",op=\"a\\\"b\\\\c\\nd\"} 2\n"
        );
    }

    #[test]
    fn values_are_integers_when_whole() {
        let mut s = String::new();
        for v in [1.0, 0.25, f64::NAN, f64::INFINITY, 1e20] {
            push_value(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, "1 0.25 NaN +Inf 100000000000000000000 ");
    }
}
