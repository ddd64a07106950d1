//! `rwg run` against a real server: nginx on a private config and port.
//! Skipped (one line on stderr) when nginx is missing; fails then under CI=true.

mod common;

use common::*;

#[test]
fn two_phase_fixed_rate_against_nginx() {
    let _g = serial();
    let Some(mut ng) = nginx() else { return };
    let url = ng.url();
    let out = two_phase_run(&url, &[]);
    let rows = assert_two_phase_ok(&out, &url);
    // nginx's answer: head + "hello\n"; the same size every time.
    let bytes = rows[0].bytes;
    assert!(bytes > 100, "{bytes} bytes for an nginx response?");
    ng.assert_alive();
}
