//! Hostile input never panics the record layer: any text in any field of
//! any record type at load time, any values of any type put into any
//! field, and any read of the field PVs afterwards.

use caproto_core::dbr::{DbrType, DbrValues};
use caproto_server::PvSource;
use caproto_softioc::record::fields::record_types;
use caproto_softioc::Records;
use proptest::prelude::*;

fn values() -> impl Strategy<Value = DbrValues> {
    prop_oneof![
        prop::collection::vec(".{0,50}", 0..3).prop_map(DbrValues::String),
        prop::collection::vec(any::<i16>(), 0..3).prop_map(DbrValues::Short),
        prop::collection::vec(any::<f32>(), 0..3).prop_map(DbrValues::Float),
        prop::collection::vec(any::<u16>(), 0..3).prop_map(DbrValues::Enum),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(DbrValues::Char),
        prop::collection::vec(any::<i32>(), 0..3).prop_map(DbrValues::Long),
        prop::collection::vec(any::<f64>(), 0..3).prop_map(DbrValues::Double),
    ]
}

fn field_names(type_index: usize) -> Vec<&'static str> {
    record_types()
        .get(type_index)
        .map(|t| t.fields.iter().map(|f| f.name).collect())
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_field_text_loads_or_is_refused(
        t in 0usize..12,
        field in 0usize..130,
        text in ".{0,90}",
    ) {
        let names = field_names(t);
        let Some(name) = names.get(field % names.len().max(1)) else { return Ok(()) };
        let rtype = record_types().get(t).map_or("ai", |r| r.name);
        let records = Records::new();
        if let Ok(h) = records.add("r", rtype, &[(name, &text)]) {
            h.process();
            let _ = records.field(&format!("r.{name}"));
        }
    }

    #[test]
    fn any_put_into_any_field_is_stored_or_refused_and_reads_stay_sane(
        t in 0usize..12,
        field in 0usize..130,
        v in values(),
        long in any::<bool>(),
    ) {
        let names = field_names(t);
        let Some(name) = names.get(field % names.len().max(1)) else { return Ok(()) };
        let rtype = record_types().get(t).map_or("ai", |r| r.name);
        let records = Records::new();
        let h = records
            .add("r", rtype, &[("CALC", "A+1"), ("FLNK", "r"), ("INPA", "r")])
            .or_else(|_| records.add("r", rtype, &[]));
        prop_assert!(h.is_ok());
        let pv_name = if long { format!("r.{name}$") } else { format!("r.{name}") };
        if let Some(pv) = records.resolve(&pv_name) {
            let _ = records.get("r").map(|h| h.set(v.clone()));
            for ty in [DbrType::String, DbrType::CtrlDouble, DbrType::CtrlEnum, DbrType::TimeChar, DbrType::StsackString] {
                let _ = pv.encode_read(&pv.snapshot(), ty, 0);
                let _ = pv.encode_read(&pv.snapshot(), ty, 5);
            }
        }
    }
}
