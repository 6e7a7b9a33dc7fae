//! Figures and how they are printed: percentiles, tables, the median of several runs.

use std::time::Duration;

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Sorted latencies.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The nearest-rank percentile `p` (0..=1) in milliseconds; NaN without samples.
    pub fn ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1].as_secs_f64() * 1e3
    }
}

/// One printed table: every run prints the same tables, so medians are taken cell by cell.
#[derive(Clone)]
pub struct Table {
    title: String,
    columns: Vec<&'static str>,
    rows: Vec<(String, Vec<f64>)>,
}

impl Table {
    pub fn new(title: String, columns: &[&'static str]) -> Self {
        Self {
            title,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, label: String, values: Vec<f64>) {
        self.rows.push((label, values));
    }

    /// p50, p90, p99 and max in milliseconds, then `extra` figures.
    pub fn latency_row(&mut self, label: String, samples: Vec<Duration>, extra: &[f64]) {
        let count = samples.len();
        let sorted = Latencies::new(samples);
        let mut values = vec![
            sorted.ms(0.50),
            sorted.ms(0.90),
            sorted.ms(0.99),
            sorted.ms(1.0),
        ];
        values.extend_from_slice(extra);
        self.row(format!("{label} (n={count})"), values);
    }

    pub fn print(&self) {
        let width = self
            .rows
            .iter()
            .map(|(l, _)| l.len())
            .max()
            .unwrap_or(0)
            .max(20);
        println!("\n{}", self.title);
        print!("  {:width$}", "");
        for column in &self.columns {
            print!(" {column:>11}");
        }
        println!();
        for (label, values) in &self.rows {
            print!("  {label:width$}");
            for value in values {
                print!(" {:>11}", figure(*value));
            }
            println!();
        }
    }

    /// Each cell's median across runs (the tables of every run have the same shape).
    pub fn medians(runs: &[Vec<Table>]) -> Vec<Table> {
        let mut medians = runs[0].clone();
        for (t, table) in medians.iter_mut().enumerate() {
            for (r, (_, values)) in table.rows.iter_mut().enumerate() {
                for (c, value) in values.iter_mut().enumerate() {
                    let mut cells: Vec<f64> = runs.iter().map(|run| run[t].rows[r].1[c]).collect();
                    cells.sort_by(f64::total_cmp);
                    let middle = cells.len() / 2;
                    *value = if cells.len() % 2 == 1 {
                        cells[middle]
                    } else {
                        (cells[middle - 1] + cells[middle]) / 2.0
                    };
                }
            }
        }
        medians
    }
}

fn figure(value: f64) -> String {
    match value {
        v if v.is_nan() => "—".into(),
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}
