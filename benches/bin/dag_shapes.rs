//! Writes the DAG benchmark's workflows (three shapes, 10k and 100k trivial
//! nodes) as JSON into a directory and times the DAG Tracker on each, for
//! `benches/dask/compare.py` to run the same graphs through dask.
//!
//! Usage: `dag_shapes DIR [ROUNDS]`. Prints one JSON line per workflow:
//! `{"file": ..., "shape": ..., "nodes": N, "us_per_node": X}` (the median
//! of ROUNDS whole runs, default 5, validation included, no checkpoints).

use std::path::PathBuf;
use std::time::Instant;

use serde_json::json;
use symphony_benches::shapes::{Shape, document};
use symphony_benches::tracker_host;
use symphony_host::{runs::RunOptions, workflow::Workflow};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: dag_shapes DIR [ROUNDS]")?);
    let rounds: usize = args.next().map_or(Ok(5), |r| r.parse())?;
    std::fs::create_dir_all(&dir)?;
    let (_home, host) = tracker_host();
    for n in [10_000, 100_000] {
        for shape in Shape::ALL {
            let doc = document(shape, n).to_string();
            let file = dir.join(format!("{}-{n}.json", shape.name()));
            std::fs::write(&file, &doc)?;
            let workflow = Workflow::from_json(&doc, &file.display().to_string())?;
            let mut times: Vec<f64> = (0..rounds.max(1))
                .map(|_| {
                    let options = RunOptions {
                        checkpoint: false,
                        ..RunOptions::default()
                    };
                    let start = Instant::now();
                    let report = host.run_with_options(&workflow, &json!(1), options, &mut |_| {});
                    let elapsed = start.elapsed().as_secs_f64();
                    match report {
                        Ok(report) if report.error.is_none() => Ok(elapsed),
                        Ok(report) => Err(report.error.unwrap_or_default()),
                        Err(e) => Err(e.to_string()),
                    }
                })
                .collect::<Result<_, _>>()?;
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "{}",
                json!({"file": file, "shape": shape.name(), "nodes": n,
                       "us_per_node": median * 1e6 / n as f64})
            );
        }
    }
    Ok(())
}
