//! `--format json`: one JSON object per value, event or message, written
//! by hand (no serde) so that the output is stable and dependency-free.

use caproto_core::dbr::{DbrData, DbrFamily, DbrType, DbrValues, EpicsTime};

use crate::time::{timestamp_text, TimeZone};

/// A JSON string literal (with quotes) for `s`.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number for `v`; `null` for NaN and infinities (JSON has none).
pub fn number(v: f64) -> String {
    if v.is_finite() {
        // Rust prints the shortest text that reads back to the same f64.
        format!("{v}")
    } else {
        "null".to_owned()
    }
}

/// The values as a JSON array.
pub fn values(v: &DbrValues) -> String {
    let items: Vec<String> = match v {
        DbrValues::String(v) => v.iter().map(|s| string(s)).collect(),
        DbrValues::Short(v) => v.iter().map(|x| x.to_string()).collect(),
        DbrValues::Float(v) => v.iter().map(|&x| number(f64::from(x))).collect(),
        DbrValues::Enum(v) => v.iter().map(|x| x.to_string()).collect(),
        DbrValues::Char(v) => v.iter().map(|x| x.to_string()).collect(),
        DbrValues::Long(v) => v.iter().map(|x| x.to_string()).collect(),
        DbrValues::Double(v) => v.iter().map(|&x| number(x)).collect(),
    };
    format!("[{}]", items.join(","))
}

/// A timestamp as an object with the raw EPICS fields and the text.
pub fn timestamp(t: EpicsTime, tz: TimeZone) -> String {
    format!(
        "{{\"secs\":{},\"nanos\":{},\"text\":{}}}",
        t.secs,
        t.nanos,
        string(&timestamp_text(t, tz))
    )
}

/// The fields (without braces) describing `data` of type `dbr_type`: type,
/// count, value and the metadata the type carries.
pub fn data_fields(dbr_type: DbrType, data: &DbrData, tz: TimeZone) -> String {
    let m = &data.meta;
    let mut out = format!(
        "\"type\":{},\"count\":{},\"value\":{}",
        string(dbr_type.name()),
        data.values.len(),
        values(&data.values)
    );
    let family = dbr_type.family();
    let has_alarm = !matches!(
        family,
        DbrFamily::Plain | DbrFamily::ClassName | DbrFamily::PutAckt | DbrFamily::PutAcks
    );
    if has_alarm {
        out.push_str(&format!(
            ",\"status\":{},\"severity\":{}",
            string(&m.status.to_string()),
            string(&m.severity.to_string())
        ));
    }
    if family == DbrFamily::Time {
        out.push_str(&format!(",\"timestamp\":{}", timestamp(m.timestamp, tz)));
    }
    if matches!(family, DbrFamily::Gr | DbrFamily::Ctrl) {
        if !m.enum_strings.is_empty() || dbr_type.native() == caproto_core::dbr::NativeType::Enum {
            let e: Vec<String> = m.enum_strings.iter().map(|s| string(s)).collect();
            out.push_str(&format!(",\"enum_strings\":[{}]", e.join(",")));
        } else if dbr_type.native() != caproto_core::dbr::NativeType::String {
            let l = &m.limits;
            out.push_str(&format!(
                ",\"units\":{},\"precision\":{},\"lower_disp_limit\":{},\"upper_disp_limit\":{},\
                 \"lower_alarm_limit\":{},\"lower_warning_limit\":{},\"upper_warning_limit\":{},\
                 \"upper_alarm_limit\":{}",
                string(&m.units),
                m.precision,
                number(l.lower_disp),
                number(l.upper_disp),
                number(l.lower_alarm),
                number(l.lower_warning),
                number(l.upper_warning),
                number(l.upper_alarm)
            ));
            if family == DbrFamily::Ctrl {
                out.push_str(&format!(
                    ",\"lower_ctrl_limit\":{},\"upper_ctrl_limit\":{}",
                    number(l.lower_ctrl),
                    number(l.upper_ctrl)
                ));
            }
        }
    }
    if family == DbrFamily::StsackString {
        out.push_str(&format!(",\"ackt\":{},\"acks\":{}", m.ackt, m.acks));
    }
    out
}

/// One line for a value read or an event: `{"name":..., "type":...,
/// "count":..., "value":[...], "status":..., ...}`.
pub fn value_line(name: &str, dbr_type: DbrType, data: &DbrData, tz: TimeZone) -> String {
    format!(
        "{{\"name\":{},{}}}\n",
        string(name),
        data_fields(dbr_type, data, tz)
    )
}

/// One line for a channel that could not be read: `{"name":...,
/// "error":...}`.
pub fn error_line(name: &str, error: &str) -> String {
    format!(
        "{{\"name\":{},\"error\":{}}}\n",
        string(name),
        string(error)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use caproto_core::{AlarmSeverity, AlarmStatus};

    #[test]
    fn time_double_line() {
        let mut d = DbrData::from_values(DbrValues::Double(vec![1.5, f64::NAN]));
        d.meta.status = AlarmStatus::HIHI;
        d.meta.severity = AlarmSeverity::MAJOR;
        d.meta.timestamp = EpicsTime::new(1, 5);
        assert_eq!(
            value_line("a\"b", DbrType::TimeDouble, &d, TimeZone::UTC),
            "{\"name\":\"a\\\"b\",\"type\":\"DBR_TIME_DOUBLE\",\"count\":2,\"value\":[1.5,null],\
             \"status\":\"HIHI\",\"severity\":\"MAJOR\",\"timestamp\":{\"secs\":1,\"nanos\":5,\
             \"text\":\"1990-01-01 00:00:01.000000\"}}\n"
        );
    }

    #[test]
    fn control_chars_are_escaped() {
        assert_eq!(string("a\u{1}\n"), "\"a\\u0001\\n\"");
        assert_eq!(
            error_line("x", "not found"),
            "{\"name\":\"x\",\"error\":\"not found\"}\n"
        );
    }
}
