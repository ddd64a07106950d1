//! Measures the CSV writer's own speed on one core: encodes N records
//! (default 10 M) into the memory-mapped CSV exactly as the writer thread
//! does, and prints rows/s. `cargo run --release --example writer_throughput -- [ROWS] [FILE]`

use std::time::Instant;

use rwg::base::clock::EpochMap;
use rwg::record::csv::{encode_row, CsvFile};
use rwg::record::Record;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let path = args
        .next()
        .unwrap_or_else(|| "/tmp/rwg-writer-bench.csv".into());
    let epoch = EpochMap::capture();
    let url = b"http://127.0.0.1:8080/api";
    let mut csv = CsvFile::create(path.as_ref())?;
    let mut buf = Vec::with_capacity(256 * 1024 + 4096);
    let t0 = Instant::now();
    for i in 0..rows {
        let intended_ns = 1_000_000_000 + i * 50_000;
        let r = Record {
            intended_ns,
            sent_ns: intended_ns + 20_000 + i % 977,
            done_ns: intended_ns + 500_000 + (i * 7919) % 100_000,
            bytes: 112,
            status: 200,
            phase: (i % 3) as u16,
            in_flight: (i % 64) as u32,
            ..Record::default()
        };
        encode_row(&mut buf, &r, url, &epoch);
        if buf.len() >= 256 * 1024 {
            csv.write(&buf)?;
            buf.clear();
        }
    }
    csv.write(&buf)?;
    let bytes = csv.finish()?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{rows} rows, {:.0} MB in {secs:.2} s: {:.2} M rows/s ({path})",
        bytes as f64 / 1e6,
        rows as f64 / secs / 1e6
    );
    std::fs::remove_file(&path)
}
