//! Datetimes in the spellings Qdrant accepts, as microseconds since the
//! Unix epoch (UTC).
//!
//! Accepted: `YYYY-M-D`, optionally followed by `T`, `t` or a space and
//! `H:M`, `H:M:S` or `H:M:S.fraction`, optionally followed by a zone: `Z`,
//! `z`, ` UTC`, `±HH`, `±HHMM` or `±HH:MM`. A datetime without a zone is UTC.
//! Surrounding white space is ignored. Fractions beyond microseconds are
//! truncated.

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// A run of 1 to `max` digits.
    fn digits(&mut self, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() && self.i - start < max {
            v = v * 10 + i64::from(self.b[self.i] - b'0');
            self.i += 1;
        }
        (self.i > start).then_some((v, self.i - start))
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
}

/// Parses a datetime; `None` if it is not one of the accepted spellings.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let (year, n) = c.digits(4)?;
    if n != 4 || !c.eat(b'-') {
        return None;
    }
    let (month, _) = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let (day, _) = c.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut micros: i64 = 0;
    let mut offset_minutes: i64 = 0;
    if let Some(sep) = c.peek() {
        if !matches!(sep, b'T' | b't' | b' ') {
            return None;
        }
        c.i += 1;
        let (h, _) = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let (mi, mlen) = c.digits(2)?;
        let mut sec = 0;
        if mlen != 2 {
            return None;
        }
        if c.eat(b':') {
            let (sv, slen) = c.digits(2)?;
            if slen != 2 {
                return None;
            }
            sec = sv;
            if c.eat(b'.') {
                let start = c.i;
                let mut frac: i64 = 0;
                let mut places = 0;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    if places < 6 {
                        frac = frac * 10 + i64::from(d - b'0');
                        places += 1;
                    }
                    c.i += 1;
                }
                if c.i == start {
                    return None;
                }
                micros = frac * 10i64.pow(6 - places);
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        micros += (h * 3600 + mi * 60 + sec) * 1_000_000;
        // zone
        let rest = &s[c.i..];
        match rest {
            "" | "Z" | "z" | " UTC" | "UTC" => {}
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                c.i += 1;
                let (oh, ohl) = c.digits(2)?;
                if ohl != 2 {
                    return None;
                }
                let mut om = 0;
                if c.eat(b':') || c.peek().is_some_and(|d| d.is_ascii_digit()) {
                    let (v, l) = c.digits(2)?;
                    if l != 2 {
                        return None;
                    }
                    om = v;
                }
                if c.i != s.len() || oh > 23 || om > 59 {
                    return None;
                }
                offset_minutes = sign * (oh * 60 + om);
            }
        }
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400_000_000 + micros - offset_minutes * 60_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_instant() {
        let t = parse_datetime("2025-01-01T00:00:00Z").unwrap();
        assert_eq!(t, 1_735_689_600_000_000);
        for s in [
            "2025-01-01T05:30:00+05:30",
            "2025-01-01",
            "2025-01-01 00:00:00",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00",
            "2025-01-01T00:00:00z",
            " 2025-01-01T00:00:00Z",
            "2025-01-01T00:00:00 UTC",
            "2025-1-1",
            "2025-01-01T01:00:00+0100",
            "2025-01-01 01:00:00+01",
        ] {
            assert_eq!(parse_datetime(s), Some(t), "{s}");
        }
        assert_eq!(
            parse_datetime("2025-01-01T00:00:00.123456789Z"),
            Some(t + 123_456)
        );
        assert_eq!(
            parse_datetime("2024-12-31T18:30:00.5-05:30"),
            Some(t + 500_000)
        );
        for bad in [
            "20250101",
            "2025-13-01",
            "2025-02-30",
            "1735689600",
            "",
            "2025-01-01T",
            "2025-01-01X",
            "2025-01-01T00:00:00+5",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad:?}");
        }
        assert_eq!(parse_datetime("1969-12-31T23:59:59Z"), Some(-1_000_000));
    }
}
