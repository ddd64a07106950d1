//! Templates in a target's URL, header values and body: `{{seq}}`,
//! `{{rand_int LO HI}}`, `{{rand_choice a b c}}`, `{{uuid}}`, `{{now_ms}}`,
//! `{{rand_date FROM TO FORMAT}}`, `{{csv FILE COLUMN}}` (row by row,
//! wrapping; `{{csv FILE COLUMN random}}` draws a row).
//!
//! Every value but `now_ms` is a pure function of the seed, the arrival's
//! number and the placeholder's place in the request, so cores (and
//! machines) render the same request for the same arrival without
//! coordinating. Parsed once; rendered per request by appending to a buffer
//! the caller owns (no allocation once it has grown).

use std::sync::Arc;

use super::error::{err, ConfigError};
use super::mix::mix64;
use crate::base::civil::{civil_from_days, days_from_civil};

/// A parsed template: text and placeholders in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(Box<[u8]>),
    /// A placeholder and its salt: its place among the request's
    /// placeholders, so two of them draw independent values.
    Value(Func, u64),
}

#[derive(Clone, Debug, PartialEq)]
enum Func {
    Seq,
    RandInt {
        lo: i64,
        span: u64,
    },
    RandChoice(Vec<Box<[u8]>>),
    Uuid,
    NowMs,
    /// A day in `[from_day, from_day + days)` (days since 1970-01-01).
    RandDate {
        from_day: i64,
        days: u64,
        format: Box<[u8]>,
    },
    Csv {
        column: Arc<[Box<[u8]>]>,
        random: bool,
    },
}

/// A piece of a template: text, or its n-th placeholder.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(Vec<u8>),
    Slot(usize),
}

/// What a render needs to know about the arrival.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub seq: u64,
    pub seed: u64,
    /// The wall clock in ms since the epoch (for `{{now_ms}}`).
    pub now_ms: u64,
}

impl Arrival {
    /// Arrival `seq`; the wall clock is read only when a `{{now_ms}}`
    /// needs it (`clock`).
    pub fn new(seq: u64, seed: u64, clock: bool) -> Arrival {
        Arrival {
            seq,
            seed,
            now_ms: if clock {
                crate::base::clock::wall_now_ns() / 1_000_000
            } else {
                0
            },
        }
    }
}

/// Reads `{{csv FILE COLUMN}}`'s column: the values of `COLUMN` of `FILE`.
pub type CsvLoader<'a> = dyn FnMut(&str, &str) -> Result<Arc<[Box<[u8]>]>, ConfigError> + 'a;

impl Template {
    /// Parses `text`; placeholders are salted from `*salt` upwards (the
    /// caller numbers the placeholders of one request across its parts).
    pub fn parse(text: &str, salt: &mut u64, csv: &mut CsvLoader) -> Result<Template, ConfigError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest.as_bytes()[..open].into()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                return err(format!("template '{text}': '{{{{' without '}}}}'"));
            };
            let func = parse_func(after[..close].trim(), text, csv)?;
            parts.push(Part::Value(func, *salt));
            *salt += 1;
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.as_bytes().into()));
        }
        Ok(Template { parts })
    }

    /// Bytes sent as they are (a binary body).
    pub fn literal(bytes: &[u8]) -> Template {
        let parts = match bytes.is_empty() {
            true => Vec::new(),
            false => vec![Part::Text(bytes.into())],
        };
        Template { parts }
    }

    /// This template, then `next`'s parts (adjacent texts merged).
    pub fn followed_by(mut self, next: Template) -> Template {
        for part in next.parts {
            match (self.parts.last_mut(), part) {
                (Some(Part::Text(a)), Part::Text(b)) => *a = [&a[..], &b[..]].concat().into(),
                (_, part) => self.parts.push(part),
            }
        }
        self
    }

    /// Whether it renders `{{now_ms}}` (which reads the clock).
    pub fn uses_clock(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Value(Func::NowMs, _)))
    }

    /// Whether it renders nothing.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Whether every arrival renders the same bytes.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Its text and placeholders in order, the placeholders numbered from 0
    /// (for a caller that rearranges them: `protocol::grpc_wire`).
    pub fn pieces(&self) -> Vec<Piece> {
        let mut slot = 0;
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(bytes) => Piece::Text(bytes.to_vec()),
                Part::Value(..) => {
                    slot += 1;
                    Piece::Slot(slot - 1)
                }
            })
            .collect()
    }

    /// Its placeholder number `n` alone (with its salt, so it draws what
    /// it draws in this template).
    pub fn placeholder(&self, n: usize) -> Option<Template> {
        let part = self
            .parts
            .iter()
            .filter(|p| matches!(p, Part::Value(..)))
            .nth(n)?;
        Some(Template {
            parts: vec![part.clone()],
        })
    }

    /// Appends the rendering for `arrival` to `out`.
    pub fn render(&self, arrival: &Arrival, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                Part::Text(bytes) => out.extend_from_slice(bytes),
                Part::Value(func, salt) => func.render(arrival, draw(arrival, *salt), out),
            }
        }
    }
}

/// The placeholder's random bits for this arrival.
#[inline]
fn draw(a: &Arrival, salt: u64) -> u64 {
    mix64(a.seed ^ mix64(a.seq ^ mix64(salt.wrapping_add(0x5851_F42D_4C95_7F2D))))
}

/// `(h * n) >> 64`: a uniform index below `n` from 64 random bits.
#[inline]
fn below(h: u64, n: u64) -> u64 {
    ((u128::from(h) * u128::from(n)) >> 64) as u64
}

impl Func {
    fn render(&self, a: &Arrival, h: u64, out: &mut Vec<u8>) {
        match self {
            Func::Seq => push_int(out, a.seq),
            Func::NowMs => push_int(out, a.now_ms),
            Func::RandInt { lo, span } => {
                let v = lo.wrapping_add(below(h, *span) as i64);
                out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
            }
            Func::RandChoice(words) => {
                out.extend_from_slice(&words[below(h, words.len() as u64) as usize]);
            }
            Func::Uuid => push_uuid(out, h, mix64(h ^ 0xD6E8_FEB8_6659_FD93)),
            Func::RandDate {
                from_day,
                days,
                format,
            } => push_date(out, from_day + below(h, *days) as i64, format),
            Func::Csv { column, random } => {
                let n = column.len() as u64;
                let row = if *random { below(h, n) } else { a.seq % n };
                out.extend_from_slice(&column[row as usize]);
            }
        }
    }
}

fn push_int(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// A version 4 (random) UUID from 128 random bits, 8-4-4-4-12 lower hex.
fn push_uuid(out: &mut Vec<u8>, hi: u64, lo: u64) {
    let hi = (hi & !0xF000) | 0x4000; // version 4
    let lo = (lo & !(0xC << 60)) | (0x8 << 60); // variant 10xx
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = *b"00000000-0000-0000-0000-000000000000";
    // Two hex digits per byte, skipping the dashes.
    let mut at = 0;
    for byte in hi.to_be_bytes().into_iter().chain(lo.to_be_bytes()) {
        if text[at] == b'-' {
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0xF)];
        at += 2;
    }
    out.extend_from_slice(&text);
}

/// `format` with `%Y`, `%m`, `%d` (and `%%`) replaced for the civil date of
/// `day` (days since 1970-01-01).
fn push_date(out: &mut Vec<u8>, day: i64, format: &[u8]) {
    let (y, m, d) = civil_from_days(day);
    let mut i = 0;
    while i < format.len() {
        match (format[i], format.get(i + 1)) {
            (b'%', Some(b'Y')) => push_padded(out, y, 4),
            (b'%', Some(b'm')) => push_padded(out, i64::from(m), 2),
            (b'%', Some(b'd')) => push_padded(out, i64::from(d), 2),
            (b'%', Some(b'%')) => out.push(b'%'),
            (b, _) => {
                out.push(b);
                i += 1;
                continue;
            }
        }
        i += 2;
    }
}

fn push_padded(out: &mut Vec<u8>, v: i64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let text = buf.format(v);
    out.resize(out.len() + width.saturating_sub(text.len()), b'0');
    out.extend_from_slice(text.as_bytes());
}

/// `YYYY-MM-DD` → days since 1970-01-01.
fn parse_date(text: &str, template: &str) -> Result<i64, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "template '{template}': invalid date '{text}' (YYYY-MM-DD)"
        ))
    };
    let mut it = text.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (it.next(), it.next(), it.next()) else {
        return Err(bad());
    };
    let (y, m, d): (i64, u32, u32) = match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) if (0..=9999).contains(&y) && y >= 0 => (y, m, d),
        _ => return Err(bad()),
    };
    let day = days_from_civil(y, i64::from(m), i64::from(d));
    // A day that does not exist (2015-02-30) does not come back the same.
    if civil_from_days(day) != (y, m, d) {
        return Err(bad());
    }
    Ok(day)
}

fn parse_func(inner: &str, template: &str, csv: &mut CsvLoader) -> Result<Func, ConfigError> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let bad = |why: &str| ConfigError(format!("template '{template}': {{{{{inner}}}}}: {why}"));
    let int = |w: &str| {
        w.parse::<i64>()
            .map_err(|_| bad(&format!("'{w}' is not an integer")))
    };
    match words.as_slice() {
        ["seq"] => Ok(Func::Seq),
        ["uuid"] => Ok(Func::Uuid),
        ["now_ms"] => Ok(Func::NowMs),
        ["rand_int", lo, hi] => {
            let (lo, hi) = (int(lo)?, int(hi)?);
            if lo > hi {
                return Err(bad("LO is above HI"));
            }
            let span = (hi as i128 - lo as i128 + 1).min(u64::MAX as i128) as u64;
            Ok(Func::RandInt { lo, span })
        }
        ["rand_choice", choices @ ..] if !choices.is_empty() => Ok(Func::RandChoice(
            choices.iter().map(|c| c.as_bytes().into()).collect(),
        )),
        ["rand_date", from, to, format] => {
            let (from_day, to_day) = (parse_date(from, template)?, parse_date(to, template)?);
            if from_day > to_day {
                return Err(bad("FROM is after TO"));
            }
            Ok(Func::RandDate {
                from_day,
                days: (to_day - from_day + 1) as u64,
                format: format.as_bytes().into(),
            })
        }
        ["csv", file, column] | ["csv", file, column, "row"] => Ok(Func::Csv {
            column: non_empty(csv(file, column)?, &bad)?,
            random: false,
        }),
        ["csv", file, column, "random"] => Ok(Func::Csv {
            column: non_empty(csv(file, column)?, &bad)?,
            random: true,
        }),
        [name, ..] if KNOWN.contains(name) => Err(bad(&format!("wrong arguments for {name}"))),
        [name, ..] => Err(bad(&format!(
            "unknown function '{name}' (known: {})",
            KNOWN.join(", ")
        ))),
        [] => Err(bad("empty placeholder")),
    }
}

const KNOWN: [&str; 7] = [
    "seq",
    "rand_int",
    "rand_choice",
    "uuid",
    "now_ms",
    "rand_date",
    "csv",
];

fn non_empty(
    column: Arc<[Box<[u8]>]>,
    bad: &dyn Fn(&str) -> ConfigError,
) -> Result<Arc<[Box<[u8]>]>, ConfigError> {
    if column.is_empty() {
        return Err(bad("the column has no values"));
    }
    Ok(column)
}

/// The values of `column` in a CSV file's text: the first line names the
/// columns; fields are split at commas (no quoting), lines end in LF or
/// CRLF, blank lines are skipped.
pub fn csv_column(text: &str, column: &str) -> Result<Vec<Box<[u8]>>, ConfigError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().unwrap_or_default();
    let Some(index) = header.split(',').position(|c| c.trim() == column) else {
        return err(format!(
            "no column '{column}' (the header names: {})",
            header.trim()
        ));
    };
    let mut values = Vec::new();
    for (i, line) in lines.enumerate() {
        match line.split(',').nth(index) {
            Some(v) => values.push(v.trim().as_bytes().into()),
            None => {
                return err(format!(
                    "data line {} has no field {} ('{column}')",
                    i + 1,
                    index + 1
                ))
            }
        }
    }
    if values.is_empty() {
        return err(format!("column '{column}' has no values"));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_csv(_: &str, _: &str) -> Result<Arc<[Box<[u8]>]>, ConfigError> {
        err("no csv here".into())
    }

    fn parse(text: &str) -> Template {
        Template::parse(text, &mut 0, &mut no_csv).unwrap()
    }

    fn render(t: &Template, seq: u64) -> String {
        let mut out = Vec::new();
        let arrival = Arrival {
            seq,
            seed: 1,
            now_ms: 1_700_000_000_123,
        };
        t.render(&arrival, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_only_is_static() {
        let t = parse("/plain?x=1");
        assert!(t.is_static());
        assert_eq!(render(&t, 5), "/plain?x=1");
    }

    #[test]
    fn seq_now_and_ranges() {
        let t = parse("/u/{{seq}}?t={{ now_ms }}");
        assert!(!t.is_static());
        assert_eq!(render(&t, 42), "/u/42?t=1700000000123");
        let t = parse("{{rand_int -3 3}}");
        let values: Vec<i64> = (0..2000).map(|s| render(&t, s).parse().unwrap()).collect();
        assert!(values.iter().all(|v| (-3..=3).contains(v)));
        for v in -3..=3 {
            assert!(values.contains(&v), "{v} never drawn");
        }
        let t = parse("{{rand_choice a bb ccc}}");
        let picks: Vec<String> = (0..300).map(|s| render(&t, s)).collect();
        for w in ["a", "bb", "ccc"] {
            assert!(picks.iter().any(|p| p == w), "{w}");
        }
        assert!(picks
            .iter()
            .all(|p| ["a", "bb", "ccc"].contains(&p.as_str())));
    }

    #[test]
    fn values_are_deterministic_and_independent() {
        let t = parse("{{rand_int 0 1000000}}-{{rand_int 0 1000000}}");
        assert_eq!(render(&t, 9), render(&t, 9), "same arrival, same values");
        assert_ne!(render(&t, 9), render(&t, 10));
        let (a, b) = render(&t, 9)
            .split_once('-')
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap();
        assert_ne!(a, b, "two placeholders draw apart");
    }

    #[test]
    fn uuids_are_version_4() {
        let t = parse("{{uuid}}");
        let a = render(&t, 1);
        let b = render(&t, 2);
        assert_ne!(a, b);
        for u in [a, b] {
            let groups: Vec<&str> = u.split('-').collect();
            let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lens, vec![8, 4, 4, 4, 12], "{u}");
            assert!(u
                .bytes()
                .all(|c| c == b'-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(groups[2].starts_with('4'), "version: {u}");
            assert!("89ab".contains(&groups[3][..1]), "variant: {u}");
        }
    }

    #[test]
    fn dates_in_range_and_formatted() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let t = parse("{{rand_date 2015-04-09 2015-04-11 %Y-%m-%d}}");
        let got: Vec<String> = (0..100).map(|s| render(&t, s)).collect();
        for d in ["2015-04-09", "2015-04-10", "2015-04-11"] {
            assert!(got.iter().any(|g| g == d), "{d}");
        }
        assert!(got
            .iter()
            .all(|g| ["2015-04-09", "2015-04-10", "2015-04-11"].contains(&g.as_str())));
        let t = parse("{{rand_date 2015-12-31 2015-12-31 %d/%m/%Y%%}}");
        assert_eq!(render(&t, 0), "31/12/2015%");
    }

    #[test]
    fn csv_row_by_row_wraps_or_draws() {
        let mut loader = |file: &str, column: &str| -> Result<Arc<[Box<[u8]>]>, ConfigError> {
            assert_eq!((file, column), ("users.csv", "name"));
            Ok(vec![
                b"ann".to_vec().into_boxed_slice(),
                b"bob".to_vec().into_boxed_slice(),
            ]
            .into())
        };
        let t = Template::parse("{{csv users.csv name}}", &mut 0, &mut loader).unwrap();
        let got: Vec<String> = (0..5).map(|s| render(&t, s)).collect();
        assert_eq!(got, vec!["ann", "bob", "ann", "bob", "ann"]);
        let t = Template::parse("{{csv users.csv name random}}", &mut 0, &mut loader).unwrap();
        let got: Vec<String> = (0..50).map(|s| render(&t, s)).collect();
        assert!(got.iter().any(|g| g == "ann") && got.iter().any(|g| g == "bob"));
    }

    #[test]
    fn csv_columns_by_name() {
        let text = "id,name\r\n1,ann\n\n2, bob \n";
        let col = csv_column(text, "name").unwrap();
        assert_eq!(
            col,
            vec![
                b"ann".to_vec().into_boxed_slice(),
                b"bob".to_vec().into_boxed_slice()
            ]
        );
        assert!(csv_column(text, "age")
            .unwrap_err()
            .0
            .contains("no column 'age'"));
        assert!(csv_column("a,b\n1\n", "b")
            .unwrap_err()
            .0
            .contains("data line 1"));
        assert!(csv_column("a\n", "a").unwrap_err().0.contains("no values"));
    }

    #[test]
    fn bad_templates_name_the_fault() {
        for (text, names) in [
            ("/x/{{seq", "without"),
            ("{{nope}}", "unknown function 'nope'"),
            ("{{rand_int 5 1}}", "LO is above HI"),
            ("{{rand_int a 1}}", "'a' is not an integer"),
            ("{{rand_int 1}}", "wrong arguments for rand_int"),
            ("{{rand_date 2015-02-30 2015-03-01 %Y}}", "'2015-02-30'"),
            ("{{rand_date 2015-03-02 2015-03-01 %Y}}", "FROM is after TO"),
            ("{{}}", "empty"),
            ("{{csv f c}}", "no csv here"),
        ] {
            let e = Template::parse(text, &mut 0, &mut no_csv).unwrap_err().0;
            assert!(e.contains(names), "{text}: {e}");
        }
    }
}
