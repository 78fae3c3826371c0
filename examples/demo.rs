//! `make demo`: one visitor's life in a session database on disk
//! (./sessile-demo.db): an anonymous cart, login with key cycling, two tabs
//! saving at once, a short expiry that runs out, the sweeper, and logout.
//!
//! Time comes from a manual clock that starts at the real time, so the demo
//! can jump minutes ahead without waiting.

use std::sync::Arc;

use sessile::{Config, Engine, Expiry, ManualClock, SystemClock};

fn cookie_of(set_cookie: &Option<String>) -> String {
    // What a browser sends back: the name=value part of Set-Cookie.
    set_cookie
        .as_deref()
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .to_owned()
}

fn show(label: &str, out: &sessile::ResponseCookie) {
    match &out.set_cookie {
        Some(c) => println!("   {label} -> Set-Cookie: {c}"),
        None => println!("   {label} -> (no Set-Cookie)"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sessile::Clock;
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./sessile-demo.db".into());
    let clock = ManualClock::new(SystemClock.now_ms());
    let engine = Engine::open(
        Config::new(&path)
            .clock(Arc::new(clock.clone()))
            .reaper_interval(None),
    )?;
    println!(
        "sessile demo on {path} ({} sessions stored already)\n",
        engine.store().len()?
    );

    println!("1. An anonymous visitor puts tea in the cart.");
    let mut s = engine.begin_request(None);
    s.insert("cart", vec!["tea"])?;
    let out = engine.end_request(&mut s, 200)?;
    show("response", &out);
    let mut cookie = cookie_of(&out.set_cookie);

    println!("\n2. The next page reads the cart: nothing to write back.");
    let mut s = engine.begin_request(Some(&cookie));
    println!(
        "   cart = {:?}",
        s.get::<Vec<String>>("cart")?.unwrap_or_default()
    );
    let out = engine.end_request(&mut s, 200)?;
    show("response", &out);

    println!("\n3. The visitor logs in: the key is cycled (no session fixation), the cart kept.");
    let old_cookie = cookie.clone();
    let mut s = engine.begin_request(Some(&cookie));
    s.cycle_key()?;
    s.insert("user_id", 42)?;
    s.insert("user_name", "Aman")?;
    let out = engine.end_request(&mut s, 302)?;
    show("response", &out);
    cookie = cookie_of(&out.set_cookie);
    let mut stale = engine.begin_request(Some(&old_cookie));
    println!(
        "   the old cookie now finds: user_id={:?}, cart={:?}",
        stale.get::<i64>("user_id")?,
        stale.get::<Vec<String>>("cart")?
    );

    println!("\n4. Two tabs save at once, each changing a different key: both changes land.");
    let mut tab1 = engine.begin_request(Some(&cookie));
    let mut tab2 = engine.begin_request(Some(&cookie));
    tab1.get::<i64>("user_id")?;
    tab2.get::<i64>("user_id")?;
    tab1.insert("theme", "dark")?;
    tab2.insert("lang", "bn")?;
    engine.end_request(&mut tab1, 200)?;
    engine.end_request(&mut tab2, 200)?;
    let mut s = engine.begin_request(Some(&cookie));
    println!(
        "   theme={:?} lang={:?}",
        s.get::<String>("theme")?,
        s.get::<String>("lang")?
    );

    println!("\n5. \"Remember me\" is off: the session expires 5 minutes after the last request.");
    s.set_expiry(Expiry::seconds(300))?;
    println!(
        "   get_expiry_age() = {} s, expire at browser close = {}",
        s.get_expiry_age()?,
        s.get_expire_at_browser_close()?
    );
    let out = engine.end_request(&mut s, 200)?;
    show("response", &out);
    clock.advance_secs(301);
    println!("   ... 301 seconds later (manual clock) ...");
    let mut s = engine.begin_request(Some(&cookie));
    println!(
        "   user_id = {:?}: an expired session is never served, swept or not",
        s.get::<i64>("user_id")?
    );
    let out = engine.end_request(&mut s, 200)?;
    show("response", &out);
    println!(
        "   clear_expired() removed {} session(s)",
        engine.clear_expired()?
    );

    println!("\n6. Another visitor logs in and out: flush deletes the session and the cookie.");
    let mut s = engine.begin_request(None);
    s.insert("user_id", 7)?;
    let out = engine.end_request(&mut s, 200)?;
    let cookie = cookie_of(&out.set_cookie);
    let mut s = engine.begin_request(Some(&cookie));
    s.flush()?;
    let out = engine.end_request(&mut s, 302)?;
    show("logout", &out);

    println!("\n7. A visitor who stays: saved durably (flushed to disk before the response).");
    let mut s = engine.begin_request(None);
    s.insert("user_id", 99)?;
    s.save_durable()?;
    println!("   session {} is on disk", s.session_key().unwrap_or("?"));

    let stats = engine.stats();
    println!(
        "\n{} session(s) stored; this run wrote {} record(s) and {} index entries.",
        engine.store().len()?,
        stats.record_writes,
        stats.index_writes
    );
    println!("Look inside with: cargo run --bin sessile -- stats --db {path}");
    engine.close()?;
    Ok(())
}
