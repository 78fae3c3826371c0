//! The store's Lua scripts: the compare-and-set of one session key, its
//! one conditional write; the filing of session keys in one owner's hash;
//! and their removal from it, once filed long enough ago. Each names its
//! one key, so Redis runs it atomically on a single server, on a
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
//! The compare-and-set: `KEYS[1]` the session's key; `ARGV[1]` `1` when a
//! record is expected under it, `0` when the key must be absent; `ARGV[2]`
//! the bytes expected; `ARGV[3]` the record to write and `ARGV[4]` its TTL
//! in milliseconds, or `ARGV[4]` empty to delete the key. It writes only
//! when the key holds exactly what was expected, and answers `1` when it
//! wrote, else the bytes stored (nil when none).
//!
//! The filing: `KEYS[1]` an owner's hash (`mod.rs`), `ARGV[1]` a TTL in
//! milliseconds, `ARGV[2]` the filing time (ms since the epoch, by the
//! engine's clock), `ARGV[3..]` session keys. It files each key with that
//! time, or keeps the time it has when that is later (a rebuild files with
//! 0 and never makes a writer's filing look old), and gives the hash at
//! least that TTL, never a shorter one than it has: `PEXPIRE`'s `GT` would
//! do that on Redis 7, but it leaves a hash without a TTL (one `HSET` just
//! made) without one, and the script needs no particular server version.
//!
//! The removal: `KEYS[1]` an owner's hash, `ARGV[1]` a cutoff time,
//! `ARGV[2..]` session keys. It removes each key filed at or before the
//! cutoff (or with a time that is not a number: not written here), and
//! answers how many it removed. Removing by a judgement made a round trip
//! earlier (the record names another owner, or is gone) is safe only for
//! a filing older than that judgement: a writer files the key before it
//! writes the record, and the record may land just after it was read
//! (`mod.rs`, `OWNER_GRACE_MS`).

use ::redis::{Cmd, ConnectionLike, ErrorKind, RedisResult, ServerErrorKind, Value};

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

const FILE: &str = r"
local at = tonumber(ARGV[2])
for i = 3, #ARGV do
  local filed = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  if not filed or filed < at then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[2])
  end
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
";

const UNFILE: &str = r"
local cutoff = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local filed = redis.call('HGET', KEYS[1], ARGV[i])
  if filed then
    local at = tonumber(filed)
    if not at or at <= cutoff then
      removed = removed + redis.call('HDEL', KEYS[1], ARGV[i])
    end
  end
end
return removed
";

/// One of the scripts, with the SHA1 that `EVALSHA` names it by.
pub(super) struct Lua {
    body: &'static str,
    sha: String,
}

impl Lua {
    /// The compare-and-set.
    pub(super) fn cas() -> Lua {
        Lua::new(CAS)
    }

    /// The filing in an owner's hash.
    pub(super) fn file() -> Lua {
        Lua::new(FILE)
    }

    /// The removal from an owner's hash of keys filed before a cutoff.
    pub(super) fn unfile() -> Lua {
        Lua::new(UNFILE)
    }

    fn new(body: &'static str) -> Lua {
        Lua {
            body,
            sha: ::redis::Script::new(body).get_hash().to_owned(),
        }
    }

    /// Runs the script on `key` with `args` by its SHA1; a server that
    /// does not have it cached (restarted, or a node new to the cluster)
    /// gets it whole once.
    fn run(
        &self,
        con: &mut impl ConnectionLike,
        key: &[u8],
        args: impl Fn(&mut Cmd),
    ) -> RedisResult<Value> {
        let call = |verb: &str, body: &str| {
            let mut c = ::redis::cmd(verb);
            c.arg(body).arg(1).arg(key);
            args(&mut c);
            c
        };
        match call("EVALSHA", &self.sha).query::<Value>(con) {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                call("EVAL", self.body).query::<Value>(con)
            }
            other => other,
        }
    }

    /// The script on `key` as one `EVAL` carrying its body, for a
    /// pipeline: a reply of "no such script" could not be answered there
    /// by sending it again.
    fn eval(&self, key: &[u8], args: impl Fn(&mut Cmd)) -> Cmd {
        let mut c = ::redis::cmd("EVAL");
        c.arg(self.body).arg(1).arg(key);
        args(&mut c);
        c
    }
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
/// absent), with `cas` ([`Lua::cas`]).
pub(super) fn compare_and_set(
    con: &mut impl ConnectionLike,
    cas: &Lua,
    key: &[u8],
    expected: Option<&[u8]>,
    write: Write<'_>,
) -> RedisResult<Cas> {
    let reply = cas.run(con, key, |c| {
        c.arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or(b""));
        match write {
            Write::Set(bytes, ttl_ms) => c.arg(bytes).arg(ttl_ms),
            Write::Delete => c.arg("").arg(""),
        };
    })?;
    Ok(match reply {
        Value::Int(1) => Cas::Written,
        // Lua's `false` (the key is absent): nil in RESP2, a boolean or
        // null in RESP3.
        Value::Nil | Value::Boolean(false) => Cas::Found(None),
        other => Cas::Found(Some(::redis::from_redis_value(other)?)),
    })
}

/// Files `members` (session keys) in the owner hash `hash` at `at_ms`
/// and gives it a TTL of at least `ttl_ms`, with `file` ([`Lua::file`]).
pub(super) fn file(
    con: &mut impl ConnectionLike,
    file: &Lua,
    hash: &[u8],
    ttl_ms: i64,
    at_ms: i64,
    members: &[&[u8]],
) -> RedisResult<()> {
    file.run(con, hash, |c| {
        c.arg(ttl_ms).arg(at_ms).arg(members);
    })?;
    Ok(())
}

/// [`file`] as a command for a pipeline.
pub(super) fn file_cmd(file: &Lua, hash: &[u8], ttl_ms: i64, at_ms: i64, members: &[&[u8]]) -> Cmd {
    file.eval(hash, |c| {
        c.arg(ttl_ms).arg(at_ms).arg(members);
    })
}

/// Removes from the owner hash `hash` those of `members` filed at or
/// before `cutoff_ms`, with `unfile` ([`Lua::unfile`]); answers how many.
pub(super) fn unfile(
    con: &mut impl ConnectionLike,
    unfile: &Lua,
    hash: &[u8],
    cutoff_ms: i64,
    members: &[impl AsRef<[u8]>],
) -> RedisResult<u64> {
    let reply = unfile.run(con, hash, |c| {
        c.arg(cutoff_ms);
        for m in members {
            c.arg(m.as_ref());
        }
    })?;
    Ok(::redis::from_redis_value(reply)?)
}
