//! The store's one conditional write: a compare-and-set of one key, run
//! by Redis as a Lua script, so it is atomic on a single server, on a
//! Sentinel-managed master and in a cluster alike.
//!
//! Why a script rather than `WATCH`/`MULTI`/`EXEC`: the cluster client
//! cannot hold a `WATCH` across its routing (it has no transactions), while
//! a script names its one key and is routed by it like any command. It is
//! also fewer round trips: a save is one `EVALSHA` on the bytes the
//! request read (the transaction was `WATCH`, `GET`, then `MULTI SET
//! EXEC`: three), a sweep's deletion one `EVALSHA` (three), and a lost
//! race costs no extra read, since the script answers with the bytes that
//! won (tests/redis_round_trips.rs counts them).
//!
//! The script: `KEYS[1]` the session's key; `ARGV[1]` `1` when a record is
//! expected under it, `0` when the key must be absent; `ARGV[2]` the bytes
//! expected; `ARGV[3]` the record to write and `ARGV[4]` its TTL in
//! milliseconds, or `ARGV[4]` empty to delete the key. It writes only when
//! the key holds exactly what was expected, and answers `1` when it wrote,
//! else the bytes stored (nil when none).

use ::redis::{ConnectionLike, ErrorKind, RedisResult, ServerErrorKind, Value};

const CAS: &str = r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return cur end
elseif cur then
  return cur
end
if ARGV[4] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
";

/// The script's SHA1, by which `EVALSHA` names it.
pub(super) fn sha() -> String {
    ::redis::Script::new(CAS).get_hash().to_owned()
}

/// What a compare-and-set did.
pub(super) enum Cas {
    /// The key held what was expected: the write (or deletion) is done.
    Written,
    /// It held something else: the bytes stored now, `None` when none.
    Found(Option<Vec<u8>>),
}

/// What to put under the key.
pub(super) enum Write<'a> {
    /// These record bytes, expiring in this many milliseconds.
    Set(&'a [u8], i64),
    /// Nothing: delete the key.
    Delete,
}

/// Writes `write` under `key` if it holds `expected` (`None`: if it is
/// absent). `sha` is [`sha`]'s; a server that does not have the script
/// cached (restarted, or a node new to the cluster) gets it whole once.
pub(super) fn compare_and_set(
    con: &mut impl ConnectionLike,
    sha: &str,
    key: &[u8],
    expected: Option<&[u8]>,
    write: Write<'_>,
) -> RedisResult<Cas> {
    let call = |verb: &str, body: &str| {
        let mut c = ::redis::cmd(verb);
        c.arg(body)
            .arg(1)
            .arg(key)
            .arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or(b""));
        match write {
            Write::Set(bytes, ttl_ms) => c.arg(bytes).arg(ttl_ms),
            Write::Delete => c.arg("").arg(""),
        };
        c
    };
    let reply = match call("EVALSHA", sha).query::<Value>(con) {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            call("EVAL", CAS).query::<Value>(con)?
        }
        other => other?,
    };
    Ok(match reply {
        Value::Int(1) => Cas::Written,
        // Lua's `false` (the key is absent): nil in RESP2, a boolean or
        // null in RESP3.
        Value::Nil | Value::Boolean(false) => Cas::Found(None),
        other => Cas::Found(Some(::redis::from_redis_value(other)?)),
    })
}
