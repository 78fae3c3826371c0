//! Every store honours the same contract (tests/conformance): load never
//! returns expired records, create is insert-if-absent, saves merge deltas
//! and never resurrect, sweeping removes exactly the expired, an owner's
//! sessions are found by its index, which no listing or count sees.
//! Instantiated here for the sled store, the memory store and the Redis
//! store (each of its tests on a redis-server of its own, see
//! tests/common/redis.rs).

mod common;
#[macro_use]
mod conformance;

use sessile::{MemoryStore, SledOptions, SledStore};

fn sled_options() -> SledOptions {
    SledOptions::default()
        .cache_capacity(8 * 1024 * 1024)
        .flush_every_ms(Some(500))
        .compression(None)
}

store_conformance!(sled, {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("db"), &sled_options()).unwrap();
    (Arc::new(store), Box::new(dir))
});

store_conformance!(memory, (Arc::new(MemoryStore::new()), Box::new(())));

#[cfg(feature = "redis")]
store_conformance!(redis, {
    let server = common::redis::RedisServer::start();
    let store =
        sessile::RedisStore::open(&server.url(), &sessile::RedisOptions::default()).unwrap();
    (Arc::new(store), Box::new(server))
});

// A prefix full of glob characters: `SCAN MATCH` must match it literally.
#[cfg(feature = "redis")]
store_conformance!(redis_glob_prefix, {
    let server = common::redis::RedisServer::start();
    let url = server.url_with("?prefix=a*%5Bb%5D?:");
    let opts = sessile::RedisOptions::from_url(&url).unwrap();
    let store = sessile::RedisStore::open(&url, &opts).unwrap();
    (Arc::new(store), Box::new(server))
});

// Over TLS (`rediss://`), on a TLS-only server (tests/common/redis_tls.rs).
#[cfg(feature = "redis")]
store_conformance!(redis_tls, {
    let tls = common::redis::tls::TlsServer::start(false);
    let url = tls.url_with("");
    let store =
        sessile::RedisStore::open(&url, &sessile::RedisOptions::from_url(&url).unwrap()).unwrap();
    (Arc::new(store), Box::new(tls))
});

// Through sentinels (`redis+sentinel://`): a master, its replica and three
// sentinels per test (tests/common/redis_sentinel.rs).
#[cfg(feature = "redis")]
store_conformance!(redis_sentinel, {
    let set = common::redis::sentinel::SentinelSet::start();
    let url = set.url_with("");
    let store =
        sessile::RedisStore::open(&url, &sessile::RedisOptions::from_url(&url).unwrap()).unwrap();
    (Arc::new(store), Box::new(set))
});

// On a Redis Cluster (`redis+cluster://`): three masters and their
// replicas (tests/common/redis_cluster.rs), shared by the tests running at
// the same time, each under a key prefix of its own.
#[cfg(feature = "redis")]
store_conformance!(redis_cluster, {
    let (cluster, prefix) = common::redis::cluster::Cluster::shared();
    let url = cluster.url_with(&format!("?prefix={prefix}"));
    let store =
        sessile::RedisStore::open(&url, &sessile::RedisOptions::from_url(&url).unwrap()).unwrap();
    (Arc::new(store), Box::new(cluster))
});
