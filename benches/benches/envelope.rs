//! Envelope encode + decode in msgpack (the wire format) against JSON of the
//! same envelope, in time and in size.

use criterion::{criterion_group, criterion_main};
use symphony_benches::{bench_pair, compare_sizes, criterion};
use symphony_protocol::Envelope;

fn envelope() -> Envelope {
    Envelope::new("msg", "exec.18ea421c.node.completed", vec![7u8; 256])
        .from_sender("host-1")
        .reply_to("_inbox.host-1.42")
        .with_header("trace", "0af7651916cd43dd8448eb211c80319c")
}

fn bench(c: &mut criterion::Criterion) {
    let envelope = envelope();
    let mut buf = Vec::with_capacity(1024);
    let mut ours = || {
        buf.clear();
        envelope.encode_into(&mut buf).unwrap();
        Envelope::decode(&buf).unwrap()
    };
    let mut baseline = || {
        let text = serde_json::to_vec(&envelope).unwrap();
        serde_json::from_slice::<Envelope>(&text).unwrap()
    };
    assert_eq!(ours(), baseline());

    bench_pair(
        c,
        "envelope_encode_decode_vs_json",
        &mut ours,
        &mut baseline,
    );

    let ours = envelope.encode().unwrap().len();
    let baseline = serde_json::to_vec(&envelope).unwrap().len();
    compare_sizes("envelope_size_vs_json", ours, baseline);
}

criterion_group! { name = benches; config = criterion(); targets = bench }
criterion_main!(benches);
