use super::{convert, detect, ForeignOptions, Tool};
use crate::report::csv_scan::scan_bytes;

/// Converted rows as (timestamp_ns, url, status, latency_ns, error, in_flight).
fn rows(
    data: &str,
    tool: Tool,
    opts: ForeignOptions,
) -> Vec<(u64, String, Option<u32>, u64, String, u64)> {
    let csv = convert(data.as_bytes(), tool, opts).unwrap();
    let mut out = Vec::new();
    let end = scan_bytes(&csv, |r| {
        assert_eq!(r.latency_ns, r.service_ns);
        assert_eq!(r.lag_ns, None);
        out.push((
            r.timestamp_ns,
            String::from_utf8(r.url.to_vec()).unwrap(),
            r.status,
            r.latency_ns.unwrap(),
            String::from_utf8(r.error.to_vec()).unwrap(),
            r.in_flight,
        ));
    });
    assert_eq!(end.stop, None);
    out
}

const GO: &str = "url,latency,status_code,error,timestamp,current_workers\n\
http://h:8080/a,1500,200,,2025-10-01T12:34:56.000000001Z,7\n\
http://h:8080/a,2000000,0,Get \"http://h:8080/a\": context deadline exceeded (Client.Timeout exceeded, awaiting headers),2025-10-01T12:34:57Z,9\n\
http://h:8080/a,800,503,,2025-10-01T05:34:58-07:00,3\n";

#[test]
fn reads_the_go_tools_csv() {
    assert_eq!(detect(GO.as_bytes()), Tool::RwgGo);
    let t0 = 1_759_322_096_000_000_000;
    assert_eq!(
        rows(GO, Tool::RwgGo, ForeignOptions::default()),
        [
            (
                t0 + 1,
                "http://h:8080/a".into(),
                Some(200),
                1_500_000,
                String::new(),
                7
            ),
            (
                t0 + 1_000_000_000,
                "http://h:8080/a".into(),
                None,
                2_000_000_000,
                "timeout".into(),
                9
            ),
            (
                t0 + 2_000_000_000,
                "http://h:8080/a".into(),
                Some(503),
                800_000,
                String::new(),
                3
            ),
        ]
    );
}

#[test]
fn go_grpc_codes_follow_the_url_or_the_version() {
    // The first version had no current_workers; a gRPC url has no scheme.
    let data = "url,latency,status_code,error,timestamp\n\
        h:50051,100,0,,2025-10-01T12:34:56Z\n\
        h:50051,100,8,,2025-10-01T12:34:56Z\n\
        h:50051,100,14,error code: 14,2025-10-01T12:34:56Z\n";
    let got: Vec<Option<u32>> = rows(data, Tool::RwgGo, ForeignOptions::default())
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(got, [Some(0), Some(8), Some(14)]);
    // --version 1 reads the same column as HTTP: 0 is no response.
    let http = ForeignOptions {
        go_grpc: Some(false),
    };
    assert_eq!(rows(data, Tool::RwgGo, http)[0].2, None);
}

#[test]
fn bad_go_rows_name_the_line_and_value() {
    for (row, want) in [
        ("http://h/,x,200,,2025-10-01T12:34:56Z", "latency 'x'"),
        ("http://h/,1,abc,,2025-10-01T12:34:56Z", "status_code 'abc'"),
        ("http://h/,1,200,,yesterday", "timestamp 'yesterday'"),
        ("http://h/,1", "too few fields"),
    ] {
        let data = format!("url,latency,status_code,error,timestamp\n{row}\n");
        let e = convert(data.as_bytes(), Tool::RwgGo, ForeignOptions::default()).unwrap_err();
        assert!(e.contains("line 2") && e.contains(want), "{e}");
    }
}

#[test]
fn reads_vegetas_csv() {
    // Old (9 columns) and new (12) rows; an error quoted for its comma.
    let data = "1759322096000000000,200,1500000,0,12,,aGVsbG8=,atk,0\n\
        1759322096010000000,0,30000000000,0,0,\"Get \"\"http://h/\"\": dial tcp 127.0.0.1:9: connect: connection refused, again\",,atk,1\n\
        1759322096020000000,500,2000,5,7,500 Internal Server Error,,atk,2,GET,http://h/x,\"A: b\"\n";
    assert_eq!(detect(data.as_bytes()), Tool::Vegeta);
    let t0 = 1_759_322_096_000_000_000;
    assert_eq!(
        rows(data, Tool::Vegeta, ForeignOptions::default()),
        [
            (t0, "atk".into(), Some(200), 1_500_000, String::new(), 0),
            (
                t0 + 10_000_000,
                "atk".into(),
                None,
                30_000_000_000,
                "connect".into(),
                0
            ),
            (
                t0 + 20_000_000,
                "http://h/x".into(),
                Some(500),
                2_000,
                String::new(),
                0
            ),
        ]
    );
    let e = convert(
        b"1759322096000000000,200,15x,0,12,,,a,0\n",
        Tool::Vegeta,
        ForeignOptions::default(),
    )
    .unwrap_err();
    assert!(e.contains("line 1") && e.contains("latency '15x'"), "{e}");
}

#[test]
fn rwg_and_unknown_files_stay_rwgs() {
    assert_eq!(
        detect(crate::report::csv_scan::HEADER.as_bytes()),
        Tool::Rwg
    );
    assert_eq!(detect(b"what,is,this\n"), Tool::Rwg);
    assert_eq!(detect(b""), Tool::Rwg);
}

#[test]
fn an_absurd_latency_is_an_error_not_a_bad_row() {
    let data = "url,latency,status_code,error,timestamp\nhttp://h/,18446744073709551615,200,,2025-10-01T12:00:00Z\n";
    let e = convert(data.as_bytes(), Tool::RwgGo, ForeignOptions::default()).unwrap_err();
    assert!(e.contains("line 2") && e.contains("latency"), "{e}");
}
