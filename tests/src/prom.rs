//! A small reader for the Prometheus text format: just what the bots need
//! from a server's `/metrics` (plain values, values by label, and
//! histograms with the quantiles of their buckets).

use std::collections::BTreeMap;

use thiserror::Error;

/// A line of the text format that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("metrics line {line}: {reason}")]
pub struct PromError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// One sample: `name{label="value",...} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name, with any `_total`, `_bucket`, ... suffix.
    pub name: String,
    /// Labels in the order given.
    pub labels: Labels,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// The value of label `key`, if the sample has it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every sample of one scrape of a `/metrics` page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    /// The samples, in page order.
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Reads a page in the Prometheus (or OpenMetrics) text format. Comments
    /// (`# HELP`, `# TYPE`, `# EOF`) and blank lines are skipped; a timestamp
    /// or exemplar after the value is ignored.
    pub fn parse(text: &str) -> Result<Self, PromError> {
        let mut samples = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason| PromError {
                line: i + 1,
                reason,
            };
            samples.push(parse_line(line).map_err(err)?);
        }
        Ok(Self { samples })
    }

    /// The value of the first sample called `name` (whatever its labels).
    pub fn value(&self, name: &str) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
    }

    /// The samples called `name`, keyed by the value of their label `label`.
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| Some((s.label(label)?.to_owned(), s.value)))
            .collect()
    }

    /// The buckets of histogram `name` (its `name_bucket` samples), or
    /// `None` when it has none or they are not a valid cumulative histogram.
    pub fn histogram(&self, name: &str) -> Option<Buckets> {
        self.buckets(name, |_| true)
    }

    /// The buckets of the series of histogram family `name` whose label
    /// `label` is `value` (e.g. `part="sent"`), as [`Self::histogram`].
    pub fn histogram_where(&self, name: &str, label: &str, value: &str) -> Option<Buckets> {
        self.buckets(name, |s| s.label(label) == Some(value))
    }

    fn buckets(&self, name: &str, wanted: impl Fn(&Sample) -> bool) -> Option<Buckets> {
        let bucket = format!("{name}_bucket");
        let mut bounds = Vec::new();
        for s in self
            .samples
            .iter()
            .filter(|s| s.name == bucket && wanted(s))
        {
            let le = parse_value(s.label("le")?).ok()?;
            if !(s.value >= 0.0 && s.value.is_finite()) {
                return None;
            }
            bounds.push((le, s.value as u64));
        }
        Buckets::new(bounds)
    }
}

/// A histogram as Prometheus exports it: cumulative counts of observations
/// at most each upper bound, bounds ascending, the last one `+Inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    bounds: Vec<(f64, u64)>,
}

impl Buckets {
    /// Buckets from `(upper bound, cumulative count)` pairs, in any order.
    /// `None` unless the bounds are distinct, the last is `+Inf`, and the
    /// counts never fall.
    pub fn new(mut bounds: Vec<(f64, u64)>) -> Option<Self> {
        if bounds.iter().any(|(le, _)| le.is_nan()) {
            return None;
        }
        bounds.sort_by(|a, b| a.0.total_cmp(&b.0));
        let last = bounds.last()?;
        if last.0 != f64::INFINITY {
            return None;
        }
        let ordered = bounds
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        ordered.then_some(Self { bounds })
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.bounds.last().map_or(0, |b| b.1)
    }

    /// What was observed after `earlier` (an earlier scrape of the same
    /// histogram). `None` if the bounds differ or a count fell (a restart).
    pub fn since(&self, earlier: &Buckets) -> Option<Buckets> {
        if self.bounds.len() != earlier.bounds.len() {
            return None;
        }
        let mut bounds = Vec::with_capacity(self.bounds.len());
        for (&(le, now), &(le0, then)) in self.bounds.iter().zip(&earlier.bounds) {
            if le != le0 || now < then {
                return None;
            }
            bounds.push((le, now - then));
        }
        Self::new(bounds)
    }

    /// The `q` quantile (0 to 1), as the upper bound of the bucket that holds
    /// it: an upper estimate, exact to the bucket width. A quantile that
    /// falls in the `+Inf` bucket reads as the largest finite bound. `None`
    /// without observations.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The rank of the observation at q, from 1 (nearest-rank method).
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let i = self.bounds.iter().position(|&(_, c)| c >= rank)?;
        Some(self.finite_bound(i))
    }

    /// The upper bound of the highest bucket with an observation in it (the
    /// largest finite bound if that is `+Inf`). `None` without observations.
    pub fn max(&self) -> Option<f64> {
        let mut below = 0;
        let mut highest = None;
        for (i, &(_, c)) in self.bounds.iter().enumerate() {
            if c > below {
                highest = Some(i);
            }
            below = c;
        }
        highest.map(|i| self.finite_bound(i))
    }

    /// Bucket `i`'s upper bound, or the largest finite bound for `+Inf`.
    fn finite_bound(&self, i: usize) -> f64 {
        let le = self.bounds[i].0;
        if le.is_finite() || i == 0 {
            le
        } else {
            self.bounds[i - 1].0
        }
    }
}

fn parse_line(line: &str) -> Result<Sample, &'static str> {
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .ok_or("no value")?;
    let name = &line[..name_end];
    if name.is_empty() {
        return Err("no metric name");
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let (parsed, after) = parse_labels(inner)?;
        labels = parsed;
        rest = after;
    }
    let value = rest.split_whitespace().next().ok_or("no value")?;
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value).map_err(|()| "bad value")?,
    })
}

/// A sample's labels, in the order given.
pub type Labels = Vec<(String, String)>;

/// Reads `key="value",...}` and returns the labels and what follows the `}`.
fn parse_labels(mut s: &str) -> Result<(Labels, &str), &'static str> {
    let mut labels = Vec::new();
    loop {
        s = s.trim_start_matches([' ', ',']);
        if let Some(after) = s.strip_prefix('}') {
            return Ok((labels, after));
        }
        let eq = s.find('=').ok_or("label without a value")?;
        let key = s[..eq].trim();
        let quoted = s[eq + 1..]
            .trim_start()
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value"),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value"),
                },
                Some((_, c)) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        s = &quoted[end + 1..];
    }
}

fn parse_value(s: &str) -> Result<f64, ()> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"# HELP tickwire_players_connected Players connected.
# TYPE tickwire_players_connected gauge
tickwire_players_connected 42
# TYPE tickwire_tick_duration_seconds histogram
tickwire_tick_duration_seconds_sum 0.5
tickwire_tick_duration_seconds_count 100
tickwire_tick_duration_seconds_bucket{le="0.00025"} 10
tickwire_tick_duration_seconds_bucket{le="0.0005"} 60
tickwire_tick_duration_seconds_bucket{le="0.00075"} 98
tickwire_tick_duration_seconds_bucket{le="0.001"} 99
tickwire_tick_duration_seconds_bucket{le="0.01"} 100
tickwire_tick_duration_seconds_bucket{le="+Inf"} 100
tickwire_tick_overruns_total 3
tickwire_process_cpu_seconds 12.5
tickwire_disconnects_total{reason="stalled"} 2
tickwire_disconnects_total{kind="x",reason="idle \"timeout\""} 5 1700000000
# EOF
"#;

    #[test]
    fn reads_values_labels_and_histograms() {
        let s = Scrape::parse(PAGE).expect("parses");
        assert_eq!(s.value("tickwire_players_connected"), Some(42.0));
        assert_eq!(s.value("tickwire_tick_overruns_total"), Some(3.0));
        assert_eq!(s.value("tickwire_process_cpu_seconds"), Some(12.5));
        assert_eq!(s.value("tickwire_nothing"), None);
        let reasons = s.by_label("tickwire_disconnects_total", "reason");
        assert_eq!(reasons.get("stalled"), Some(&2.0));
        assert_eq!(reasons.get("idle \"timeout\""), Some(&5.0));
        let h = s
            .histogram("tickwire_tick_duration_seconds")
            .expect("histogram");
        assert_eq!(h.count(), 100);
        assert!(s.histogram("tickwire_players_connected").is_none());
    }

    #[test]
    fn a_labelled_histogram_is_read_one_series_at_a_time() {
        let s = Scrape::parse(
            "lat_bucket{le=\"0.01\",part=\"a\"} 1\n\
             lat_bucket{le=\"+Inf\",part=\"a\"} 3\n\
             lat_bucket{le=\"0.01\",part=\"b\"} 7\n\
             lat_bucket{le=\"+Inf\",part=\"b\"} 7\n",
        )
        .expect("parses");
        let a = s.histogram_where("lat", "part", "a").expect("series a");
        let b = s.histogram_where("lat", "part", "b").expect("series b");
        assert_eq!((a.count(), a.quantile(0.5)), (3, Some(0.01)));
        assert_eq!((b.count(), b.quantile(1.0)), (7, Some(0.01)));
        assert!(s.histogram_where("lat", "part", "c").is_none());
        // Both series at once are not one histogram.
        assert!(s.histogram("lat").is_none());
    }

    #[test]
    fn bad_lines_are_errors_with_their_number() {
        let err = Scrape::parse("# x\nok 1\nbroken{le=\"1\" 2\n").expect_err("bad");
        assert_eq!(err.line, 3);
        assert!(Scrape::parse("name notanumber").is_err());
        assert!(Scrape::parse("lonely").is_err());
        assert!(Scrape::parse("x{a=b} 1").is_err());
    }

    #[test]
    fn quantiles_are_the_upper_bound_of_their_bucket() {
        let h = Scrape::parse(PAGE)
            .expect("parses")
            .histogram("tickwire_tick_duration_seconds")
            .expect("histogram");
        assert_eq!(h.quantile(0.0), Some(0.00025));
        assert_eq!(h.quantile(0.10), Some(0.00025));
        assert_eq!(h.quantile(0.11), Some(0.0005));
        assert_eq!(h.quantile(0.50), Some(0.0005));
        assert_eq!(h.quantile(0.98), Some(0.00075));
        assert_eq!(h.quantile(0.99), Some(0.001));
        assert_eq!(h.quantile(1.0), Some(0.01));
        assert_eq!(h.max(), Some(0.01));
    }

    #[test]
    fn a_window_is_the_difference_of_two_scrapes() {
        let before = Buckets::new(vec![
            (0.001, 5),
            (0.002, 5),
            (0.003, 10),
            (f64::INFINITY, 10),
        ])
        .expect("valid");
        let after = Buckets::new(vec![
            (0.001, 105),
            (0.002, 195),
            (0.003, 200),
            (f64::INFINITY, 200),
        ])
        .expect("valid");
        let w = after.since(&before).expect("same bounds");
        assert_eq!(w.count(), 190);
        // 100 in the first bucket, 90 in the second, none in the third.
        assert_eq!(w.quantile(0.5), Some(0.001));
        assert_eq!(w.quantile(0.99), Some(0.002));
        assert_eq!(w.max(), Some(0.002), "the third bucket only had old ticks");
        // A counter that fell (a restarted server) gives no window.
        assert!(before.since(&after).is_none());
        let other = Buckets::new(vec![(0.5, 1), (f64::INFINITY, 1)]).expect("valid");
        assert!(after.since(&other).is_none());
    }

    #[test]
    fn empty_and_overflowing_histograms() {
        let empty = Buckets::new(vec![(0.001, 0), (f64::INFINITY, 0)]).expect("valid");
        assert_eq!(empty.quantile(0.99), None);
        assert_eq!(empty.max(), None);
        let over = Buckets::new(vec![(0.001, 1), (0.1, 1), (f64::INFINITY, 3)]).expect("valid");
        assert_eq!(
            over.quantile(0.99),
            Some(0.1),
            "+Inf reads as the top bound"
        );
        assert_eq!(over.max(), Some(0.1));
        assert!(Buckets::new(vec![(0.001, 1)]).is_none(), "no +Inf bucket");
        assert!(Buckets::new(vec![(0.001, 2), (f64::INFINITY, 1)]).is_none());
        assert!(Buckets::new(vec![]).is_none());
    }
}
