//! Write-ahead log appends into a temporary folder on the real file
//! system: without fsync (what `wait = false` costs) and with an fsync per
//! record (what `wait = true` costs without group commit).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use vicinity_storage::{StdIo, Wal};

fn bench_wal(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal_append");
    // A point of 384 f32 with a small payload is about 1.6 KB of record.
    for size in [128usize, 1_600, 16_384] {
        let body = vec![0xA5u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("no_fsync", size), &body, |b, body| {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let (mut wal, _) = Wal::open(Arc::new(StdIo), dir.path()).expect("the log opens");
            let mut seq = 0u64;
            b.iter(|| {
                seq += 1;
                wal.append(seq, body).expect("append");
            });
        });
        g.bench_with_input(BenchmarkId::new("fsync_each", size), &body, |b, body| {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let (mut wal, _) = Wal::open(Arc::new(StdIo), dir.path()).expect("the log opens");
            let mut seq = 0u64;
            b.iter(|| {
                seq += 1;
                wal.append(seq, body).expect("append");
                wal.sync().expect("fsync");
            });
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // fsync takes milliseconds on some disks: fewer samples keep the suite short.
    config = Criterion::default().sample_size(20);
    targets = bench_wal
}
criterion_main!(benches);
