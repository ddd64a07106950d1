//! `rwg plot`: one self-contained HTML file from one or more CSVs.

use std::process::ExitCode;

use super::args::PlotArgs;
use crate::base::units::parse_duration_ns;

/// `rwg plot`: one self-contained HTML file.
pub fn main(args: &PlotArgs) -> ExitCode {
    let parsed = parse_duration_ns(&args.interval).and_then(|i| {
        let slo = args.slo.as_deref().map(parse_duration_ns).transpose()?;
        Ok((i, slo))
    });
    let (interval_ns, slo_ns) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match crate::plot::plot(&args.files, &args.output, interval_ns, slo_ns) {
        Ok(summary) => {
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "wrote {} ({} bytes)",
                summary.out.display(),
                summary.html_bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
