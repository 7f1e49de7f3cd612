//! Wire codec micro-benchmarks: headers, a scalar monitor-sized message and
//! a 100,000-element array through [`StreamDecoder`].
//!
//! `cargo bench -p caproto-core --bench codec` (add `-- --quick` for a fast
//! pass). These are regression numbers for the codec alone; the end-to-end
//! comparisons with EPICS base live in BENCHMARKS.md.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use caproto_core::dbr::DbrType;
use caproto_core::wire::{Command, Header, Message, ServerMessage, StreamDecoder};
use caproto_core::{EcaStatus, IoId};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

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
// Typed DBR decoding benchmarks: TO BE ADDED here once the `dbr` decoding
// API lands (e.g. DBR_TIME_DOUBLE scalar -> typed value, 100k DBR_DOUBLE
// array -> Vec<f64>, DBR_CTRL_ENUM with its strings), in a group named
// "dbr", and listed in `criterion_group!` below.
// ---------------------------------------------------------------------------

criterion_group! {
    name = codec;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_header, bench_scalar, bench_array
}
criterion_main!(codec);
