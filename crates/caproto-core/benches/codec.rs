//! Wire codec micro-benchmarks: headers, a scalar monitor-sized message, a
//! 100,000-element array through [`StreamDecoder`], and the typed DBR layer
//! (`dbr::decode` / `encode` / `values_view` / `convert`) with a memcpy of
//! the same bytes as the physical limit.
//!
//! `cargo bench -p caproto-core --bench codec` (about 1.5 minutes; add
//! `-- --quick` for a fast pass, or a name filter such as `dbr_`).
//! Run directly as `codec --callgrind <case>`, the binary is a
//! fixed-iteration loop for instruction counts under callgrind (see the end
//! of this file and `scripts/bench.sh`). These are regression numbers for the codec alone;
//! figures and the end-to-end comparisons with EPICS base live in
//! BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use caproto_core::dbr::{
    self, ConvertContext, DbrType, DbrValues, EpicsTime, Limits, Metadata, NativeType, ValuesView,
};
use caproto_core::wire::{Command, Header, Message, ServerMessage, StreamDecoder};
use caproto_core::{AlarmSeverity, AlarmStatus, EcaStatus, IoId};
use criterion::{criterion_group, Criterion, Throughput};

/// A READ_NOTIFY header as libca sends it (16 bytes).
fn standard_header() -> Header {
    Header {
        command: Command::READ_NOTIFY,
        payload_size: 0,
        data_type: DbrType::TimeDouble.code(),
        data_count: 1,
        parameter1: 7,
        parameter2: 42,
    }
}

/// A 100,000-element DBR_DOUBLE reply header (24 bytes).
fn extended_header() -> Header {
    Header {
        command: Command::READ_NOTIFY,
        payload_size: 800_000,
        data_type: DbrType::Double.code(),
        data_count: 100_000,
        parameter1: EcaStatus::ECA_NORMAL.0,
        parameter2: 42,
    }
}

fn bench_header(c: &mut Criterion) {
    let mut g = c.benchmark_group("header");
    g.throughput(Throughput::Elements(1));
    for (name, h) in [
        ("standard", standard_header()),
        ("extended", extended_header()),
    ] {
        let mut out = Vec::with_capacity(64);
        g.bench_function(format!("encode_{name}"), |b| {
            b.iter(|| {
                out.clear();
                black_box(&h).encode(&mut out);
                black_box(&out);
            })
        });
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        g.bench_function(format!("decode_{name}"), |b| {
            b.iter(|| Header::decode(black_box(&bytes)))
        });
    }
    g.finish();
}

/// A DBR_TIME_DOUBLE reply: status, severity, timestamp, pad, value (24
/// bytes, `db_access.h`).
fn time_double_reply() -> ServerMessage {
    let mut data = Vec::with_capacity(24);
    data.extend_from_slice(&0u16.to_be_bytes()); // status
    data.extend_from_slice(&0u16.to_be_bytes()); // severity
    data.extend_from_slice(&1_069_000_000u32.to_be_bytes()); // seconds past 1990
    data.extend_from_slice(&123_456_789u32.to_be_bytes()); // nanoseconds
    data.extend_from_slice(&0u32.to_be_bytes()); // RISC pad
    data.extend_from_slice(&2.5f64.to_be_bytes());
    ServerMessage::ReadNotifyResponse {
        data_type: DbrType::TimeDouble,
        count: 1,
        status: EcaStatus::ECA_NORMAL,
        ioid: IoId(42),
        data,
    }
}

fn bench_scalar(c: &mut Criterion) {
    let msg = time_double_reply();
    let mut bytes = Vec::new();
    msg.encode(&mut bytes);
    assert_eq!(bytes.len(), 40);

    let mut g = c.benchmark_group("time_double_reply");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::with_capacity(64);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&mut out);
            black_box(&out);
        })
    });
    // One message per push, as a monitor update arrives.
    let mut d = StreamDecoder::new(16_384);
    g.bench_function("stream_decode", |b| {
        b.iter(|| {
            d.push(black_box(&bytes));
            d.next_message::<ServerMessage>().unwrap().unwrap()
        })
    });
    g.finish();

    // A burst of 1,000 updates read from the socket in 64 KiB pieces.
    const BURST: usize = 1_000;
    let burst: Vec<u8> = bytes
        .iter()
        .copied()
        .cycle()
        .take(bytes.len() * BURST)
        .collect();
    let mut g = c.benchmark_group("time_double_reply_burst");
    g.throughput(Throughput::Elements(BURST as u64));
    let mut d = StreamDecoder::new(16_384);
    g.bench_function("stream_decode_1000", |b| {
        b.iter(|| {
            let mut n = 0;
            for piece in burst.chunks(64 * 1024) {
                d.push(piece);
                while let Some(m) = d.next_message::<ServerMessage>().unwrap() {
                    black_box(&m);
                    n += 1;
                }
            }
            assert_eq!(n, BURST);
        })
    });
    g.finish();
}

fn bench_array(c: &mut Criterion) {
    const N: usize = 100_000;
    let data: Vec<u8> = (0..N).flat_map(|i| (i as f64).to_be_bytes()).collect();
    let msg = ServerMessage::ReadNotifyResponse {
        data_type: DbrType::Double,
        count: N as u32,
        status: EcaStatus::ECA_NORMAL,
        ioid: IoId(42),
        data,
    };
    let mut bytes = Vec::new();
    msg.encode(&mut bytes);
    assert_eq!(bytes.len(), 24 + 800_000);

    let mut g = c.benchmark_group("double_array_100k");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    let mut out = Vec::with_capacity(bytes.len());
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&mut out);
            black_box(&out);
        })
    });
    // The payload arrives in 64 KiB socket reads; the decoded message owns
    // its data (one copy out of the decoder's buffer).
    let mut d = StreamDecoder::new(2_000_000);
    g.bench_function("stream_decode_64k_reads", |b| {
        b.iter(|| {
            let mut got = None;
            for piece in bytes.chunks(64 * 1024) {
                d.push(piece);
                if let Some(m) = d.next_message::<ServerMessage>().unwrap() {
                    got = Some(m);
                }
            }
            got.unwrap()
        })
    });
    // The whole message in one push (a reused decoder, as on a live circuit).
    g.bench_function("stream_decode_one_push", |b| {
        b.iter(|| {
            d.push(black_box(&bytes));
            d.next_message::<ServerMessage>().unwrap().unwrap()
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Typed DBR benchmarks (`caproto_core::dbr`): what a client does with a
// payload once the message is framed, and what a server does to produce one.

/// Metadata of a DBR_TIME_DOUBLE: alarm and timestamp.
fn time_meta() -> Metadata {
    Metadata {
        status: AlarmStatus::HIGH,
        severity: AlarmSeverity::MINOR,
        timestamp: EpicsTime::new(1_069_000_000, 123_456_789),
        ..Metadata::default()
    }
}

/// Metadata of a DBR_CTRL_DOUBLE: alarm, units, precision, eight limits.
fn ctrl_meta() -> Metadata {
    Metadata {
        status: AlarmStatus::HIGH,
        severity: AlarmSeverity::MINOR,
        units: "mm".to_owned(),
        precision: 3,
        limits: Limits {
            upper_disp: 100.0,
            lower_disp: -100.0,
            upper_alarm: 90.0,
            upper_warning: 80.0,
            lower_warning: -80.0,
            lower_alarm: -90.0,
            upper_ctrl: 95.0,
            lower_ctrl: -95.0,
        },
        ..Metadata::default()
    }
}

/// Number of elements of the large-array benchmarks.
const ARRAY_N: usize = 100_000;
/// Their value bytes (DBR_DOUBLE: 8 per element).
const ARRAY_BYTES: usize = ARRAY_N * 8;

/// 100,000 doubles, all within `i32` (for the DOUBLE -> LONG conversion).
fn array_values() -> Vec<f64> {
    (0..ARRAY_N).map(|i| i as f64 * 1.25 - 1000.0).collect()
}

/// The DBR_DOUBLE payload of [`array_values`] (800,000 bytes).
fn array_payload() -> Vec<u8> {
    let mut out = Vec::new();
    dbr::encode(
        DbrType::Double,
        &Metadata::default(),
        &DbrValues::Double(array_values()),
        &mut out,
    )
    .unwrap();
    assert_eq!(out.len(), ARRAY_BYTES);
    out
}

/// Sum through the zero-copy view, element by element (`get_f64`).
fn view_sum_get_f64(view: &ValuesView<'_>) -> f64 {
    (0..view.len())
        .map(|i| view.get_f64(i).unwrap_or(0.0))
        .sum()
}

/// Sum through the zero-copy view's raw bytes (`as_bytes`).
fn view_sum_as_bytes(view: &ValuesView<'_>) -> f64 {
    view.as_bytes()
        .chunks_exact(8)
        .map(|c| f64::from_be_bytes(c.try_into().unwrap()))
        .sum()
}

fn bench_dbr_scalar(c: &mut Criterion) {
    // DBR_TIME_DOUBLE, one element: 24 bytes.
    let meta = time_meta();
    let values = DbrValues::Double(vec![2.5]);
    let mut payload = Vec::new();
    dbr::encode(DbrType::TimeDouble, &meta, &values, &mut payload).unwrap();
    assert_eq!(payload.len(), 24);

    let mut g = c.benchmark_group("dbr_time_double");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| {
        b.iter(|| dbr::decode(DbrType::TimeDouble, 1, black_box(&payload)).unwrap())
    });
    let mut out = Vec::with_capacity(64);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            dbr::encode(DbrType::TimeDouble, black_box(&meta), &values, &mut out).unwrap();
            black_box(&out);
        })
    });
    g.finish();

    // DBR_CTRL_DOUBLE, one element: 88 bytes (units, precision, 8 limits).
    let meta = ctrl_meta();
    let mut payload = Vec::new();
    dbr::encode(DbrType::CtrlDouble, &meta, &values, &mut payload).unwrap();
    assert_eq!(payload.len(), 88);
    let mut g = c.benchmark_group("dbr_ctrl_double");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| {
        b.iter(|| dbr::decode(DbrType::CtrlDouble, 1, black_box(&payload)).unwrap())
    });
    g.finish();

    // Number -> text as the IOC answers a DBR_STRING read of a DOUBLE PV
    // with PREC = 3: through `convert` (a one-element DbrValues to a
    // Vec<String>), the bare fixed-point `cvtDoubleToString` path for the
    // same value, and the printf("%e") path taken above 1e16.
    let mut g = c.benchmark_group("dbr_convert_scalar");
    g.throughput(Throughput::Elements(1));
    let ctx = ConvertContext {
        precision: 3,
        enum_strings: &[],
    };
    let x = DbrValues::Double(vec![-1234.5678]);
    g.bench_function("double_to_string_values_prec3", |b| {
        b.iter(|| dbr::convert(black_box(&x), NativeType::String, &ctx).unwrap())
    });
    g.bench_function("double_to_string_fixed_prec3", |b| {
        b.iter(|| dbr::double_to_string(black_box(-1234.5678), 3))
    });
    g.bench_function("double_to_string_exp_prec3", |b| {
        b.iter(|| dbr::double_to_string(black_box(6.02214076e23), 3))
    });
    g.finish();
}

fn bench_dbr_array(c: &mut Criterion) {
    let payload = array_payload();
    let values = DbrValues::Double(array_values());
    let native = array_values();
    let n = ARRAY_N as u32;

    let mut g = c.benchmark_group("dbr_double_100k");
    // Every row moves (or reads) the 800,000 value bytes once.
    g.throughput(Throughput::Bytes(ARRAY_BYTES as u64));

    // Physical limits: copying the same bytes.
    let mut dst = vec![0u8; ARRAY_BYTES];
    g.bench_function("memcpy_800k_preallocated", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&payload));
            black_box(&dst);
        })
    });
    g.bench_function("memcpy_800k_to_vec", |b| {
        b.iter(|| black_box(&payload).to_vec())
    });

    // Payload -> owned Vec<f64> (allocation + byte swap).
    g.bench_function("decode_values", |b| {
        b.iter(|| dbr::decode_values(DbrType::Double, n, black_box(&payload)).unwrap())
    });
    // Zero-copy view, then read every element. Summing is a serial chain
    // of f64 additions, so it is compared with the same sum over a native
    // slice (`sum_native_baseline`).
    g.bench_function("values_view_sum_get_f64", |b| {
        b.iter(|| {
            let v = dbr::values_view(DbrType::Double, n, black_box(&payload)).unwrap();
            view_sum_get_f64(&v)
        })
    });
    g.bench_function("values_view_sum_iter_f64", |b| {
        b.iter(|| {
            let v = dbr::values_view(DbrType::Double, n, black_box(&payload)).unwrap();
            v.iter_f64().sum::<f64>()
        })
    });
    g.bench_function("values_view_sum_as_bytes", |b| {
        b.iter(|| {
            let v = dbr::values_view(DbrType::Double, n, black_box(&payload)).unwrap();
            view_sum_as_bytes(&v)
        })
    });
    g.bench_function("sum_native_baseline", |b| {
        b.iter(|| black_box(&native).iter().sum::<f64>())
    });

    // DbrValues -> payload, into a reused buffer (as a server's send buffer).
    let mut out = Vec::with_capacity(ARRAY_BYTES);
    let meta = Metadata::default();
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            dbr::encode(DbrType::Double, &meta, black_box(&values), &mut out).unwrap();
            black_box(&out);
        })
    });

    // Server-side conversion for a client reading the DOUBLE array as
    // DBR_LONG (C `(epicsInt32)` cast semantics, new Vec<i32>).
    let ctx = ConvertContext::default();
    g.bench_function("convert_double_to_long", |b| {
        b.iter(|| dbr::convert(black_box(&values), NativeType::Long, &ctx).unwrap())
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Instruction counts under callgrind (stable on a noisy machine).
//
// Run as `codec --callgrind <case>`, the binary skips criterion, runs the
// case once to warm up, then `iters` times inside `cg_measure`; run it under
// `valgrind --tool=callgrind --toggle-collect='*cg_measure*'` and divide the
// total by `iters`. `codec --callgrind list` prints the cases. See
// `scripts/bench.sh callgrind`.

type Case = (&'static str, u64, Box<dyn FnMut()>);

fn callgrind_cases() -> Vec<Case> {
    let time_payload = {
        let mut out = Vec::new();
        dbr::encode(
            DbrType::TimeDouble,
            &time_meta(),
            &DbrValues::Double(vec![2.5]),
            &mut out,
        )
        .unwrap();
        out
    };
    let ctrl_payload = {
        let mut out = Vec::new();
        dbr::encode(
            DbrType::CtrlDouble,
            &ctrl_meta(),
            &DbrValues::Double(vec![2.5]),
            &mut out,
        )
        .unwrap();
        out
    };
    let n = ARRAY_N as u32;
    let payload = std::rc::Rc::new(array_payload());
    let values = std::rc::Rc::new(DbrValues::Double(array_values()));
    let scalar = DbrValues::Double(vec![2.5]);
    let meta = time_meta();
    let mut scalar_out = Vec::with_capacity(64);
    let mut dst = vec![0u8; ARRAY_BYTES];
    let mut out = Vec::with_capacity(ARRAY_BYTES);
    let native = array_values();
    let ctx3 = ConvertContext {
        precision: 3,
        enum_strings: &[],
    };
    let x = DbrValues::Double(vec![-1234.5678]);
    let (p1, p2, p3, p4, p5) = (
        payload.clone(),
        payload.clone(),
        payload.clone(),
        payload.clone(),
        payload,
    );
    let (v1, v2) = (values.clone(), values);
    vec![
        (
            "dbr_time_double/decode",
            10_000,
            Box::new(move || {
                black_box(dbr::decode(DbrType::TimeDouble, 1, black_box(&time_payload)).unwrap());
            }),
        ),
        (
            "dbr_time_double/encode",
            10_000,
            Box::new(move || {
                scalar_out.clear();
                dbr::encode(
                    DbrType::TimeDouble,
                    black_box(&meta),
                    &scalar,
                    &mut scalar_out,
                )
                .unwrap();
                black_box(&scalar_out);
            }),
        ),
        (
            "dbr_ctrl_double/decode",
            10_000,
            Box::new(move || {
                black_box(dbr::decode(DbrType::CtrlDouble, 1, black_box(&ctrl_payload)).unwrap());
            }),
        ),
        (
            "dbr_convert_scalar/double_to_string_values_prec3",
            10_000,
            Box::new(move || {
                black_box(dbr::convert(black_box(&x), NativeType::String, &ctx3).unwrap());
            }),
        ),
        (
            "dbr_convert_scalar/double_to_string_fixed_prec3",
            10_000,
            Box::new(|| {
                black_box(dbr::double_to_string(black_box(-1234.5678), 3));
            }),
        ),
        (
            "dbr_convert_scalar/double_to_string_exp_prec3",
            10_000,
            Box::new(|| {
                black_box(dbr::double_to_string(black_box(6.02214076e23), 3));
            }),
        ),
        (
            "dbr_double_100k/memcpy_800k_preallocated",
            20,
            Box::new(move || {
                dst.copy_from_slice(black_box(&p1));
                black_box(&dst);
            }),
        ),
        (
            "dbr_double_100k/memcpy_800k_to_vec",
            20,
            Box::new(move || {
                black_box(black_box(&p2).to_vec());
            }),
        ),
        (
            "dbr_double_100k/decode_values",
            20,
            Box::new(move || {
                black_box(dbr::decode_values(DbrType::Double, n, black_box(&p3)).unwrap());
            }),
        ),
        (
            "dbr_double_100k/values_view_sum_get_f64",
            20,
            Box::new(move || {
                let v = dbr::values_view(DbrType::Double, n, black_box(&p4)).unwrap();
                black_box(view_sum_get_f64(&v));
            }),
        ),
        (
            "dbr_double_100k/values_view_sum_as_bytes",
            20,
            Box::new(move || {
                let v = dbr::values_view(DbrType::Double, n, black_box(&p5)).unwrap();
                black_box(view_sum_as_bytes(&v));
            }),
        ),
        (
            "dbr_double_100k/sum_native_baseline",
            20,
            Box::new(move || {
                black_box(black_box(&native).iter().sum::<f64>());
            }),
        ),
        (
            "dbr_double_100k/encode",
            20,
            Box::new(move || {
                out.clear();
                dbr::encode(
                    DbrType::Double,
                    &Metadata::default(),
                    black_box(&v1),
                    &mut out,
                )
                .unwrap();
                black_box(&out);
            }),
        ),
        (
            "dbr_double_100k/convert_double_to_long",
            20,
            Box::new(move || {
                black_box(
                    dbr::convert(black_box(&v2), NativeType::Long, &ConvertContext::default())
                        .unwrap(),
                );
            }),
        ),
    ]
}

/// The measured loop; callgrind collects only inside this function.
#[inline(never)]
fn cg_measure(f: &mut dyn FnMut(), iters: u64) {
    for _ in 0..iters {
        f();
    }
}

fn run_callgrind_case(name: &str) {
    let mut cases = callgrind_cases();
    if name == "list" {
        for (case, iters, _) in &cases {
            println!("{case} {iters}");
        }
        return;
    }
    let Some((_, iters, f)) = cases.iter_mut().find(|(case, _, _)| *case == name) else {
        eprintln!("unknown case {name:?}; `--callgrind list` prints them");
        std::process::exit(2);
    };
    f(); // warm up: first-touch page faults, allocator growth
    cg_measure(f.as_mut(), *iters);
    println!("{name} {iters}");
}

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_header, bench_scalar, bench_array, bench_dbr_scalar, bench_dbr_array
}

fn main() {
    // `codec --callgrind <case>`: instruction-count mode (an argument, not
    // an environment variable: the crate's clippy.toml bans env reads).
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--callgrind") {
        run_callgrind_case(args.get(i + 1).map_or("list", String::as_str));
        return;
    }
    codec();
    Criterion::default().configure_from_args().final_summary();
}
