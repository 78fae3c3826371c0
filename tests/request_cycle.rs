//! One request from the `Cookie:` header to the `Set-Cookie:` header, by
//! Django's SessionMiddleware rules: save only when modified (or
//! save-every-request), never on a 5xx, delete the cookie when the session
//! became empty, `Vary: Cookie` when accessed, `Max-Age`/`expires` from the
//! expiry age or a browser-session cookie. A C server gets all of this from
//! `begin_request` / `end_request`.

mod common;

use common::{saved_session, sled, sled_with};
use sessile::{find_cookie, Error, Expiry, SameSite};

fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[test]
fn an_untouched_request_sends_nothing() {
    let f = sled();
    let mut s = f.engine.begin_request(None);
    let out = f.engine.end_request(&mut s, 200).unwrap();
    assert_eq!(out.set_cookie, None);
    assert!(!out.vary_cookie && !out.saved);
}

#[test]
fn a_login_sets_the_cookie_with_djangos_attributes() {
    let f = sled();
    let mut s = f.engine.begin_request(Some("csrftoken=abc"));
    s.insert("is_login", true).unwrap();
    let out = f.engine.end_request(&mut s, 200).unwrap();
    assert!(out.saved && out.vary_cookie);
    let key = s.session_key().unwrap();
    // The manual clock starts at 2026-01-01T00:00:00Z; two weeks later:
    assert_eq!(
        out.set_cookie.as_deref(),
        Some(&*format!(
            "sessionid={key}; expires=Thu, 15 Jan 2026 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
        ))
    );
}

#[test]
fn the_next_request_reads_without_rewriting() {
    let f = sled();
    let key = saved_session(&f.engine, &[("visits", 1)]);
    let mut s = f
        .engine
        .begin_request(Some(&format!("theme=dark; sessionid={key}; lang=en")));
    assert_eq!(s.get::<i64>("visits").unwrap(), Some(1));
    let out = f.engine.end_request(&mut s, 200).unwrap();
    assert_eq!(out.set_cookie, None);
    assert!(out.vary_cookie, "the response depended on the cookie");
    assert!(!out.saved);
}

#[test]
fn a_server_error_never_saves() {
    let f = sled();
    let mut s = f.engine.begin_request(None);
    s.insert("half", "done").unwrap();
    for status in [500, 502, 503] {
        let out = f.engine.end_request(&mut s, status).unwrap();
        assert!(!out.saved);
        assert_eq!(out.set_cookie, None);
    }
    assert_eq!(f.engine.store().len().unwrap(), 0);
    // 4xx still saves, as in Django.
    assert!(f.engine.end_request(&mut s, 404).unwrap().saved);
}

#[test]
fn logout_deletes_the_cookie() {
    let f = sled();
    let key = saved_session(&f.engine, &[("user", 1)]);
    let mut s = f.engine.begin_request(Some(&format!("sessionid={key}")));
    s.flush().unwrap();
    let out = f.engine.end_request(&mut s, 302).unwrap();
    assert_eq!(
        out.set_cookie.as_deref(),
        Some("sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/; SameSite=Lax")
    );
    assert!(out.vary_cookie);
    assert!(!f.engine.exists(&key).unwrap());
}

#[test]
fn browser_close_sessions_get_a_session_cookie() {
    let f = sled();
    let mut s = f.engine.begin_request(None);
    s.insert("a", 1).unwrap();
    s.set_expiry(Expiry::seconds(0)).unwrap();
    let out = f.engine.end_request(&mut s, 200).unwrap();
    let c = out.set_cookie.unwrap();
    assert!(!c.contains("Max-Age") && !c.contains("expires"), "{c}");
}

#[test]
fn expire_at_browser_close_setting_applies_to_default_sessions() {
    let f = sled_with(|c| c.expire_at_browser_close(true));
    let mut s = f.engine.begin_request(None);
    s.insert("a", 1).unwrap();
    let c = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(!c.contains("Max-Age"), "{c}");
}

#[test]
fn set_expiry_seconds_sets_max_age() {
    let f = sled();
    let mut s = f.engine.begin_request(None);
    s.insert("a", 1).unwrap();
    s.set_expiry(Expiry::seconds(300)).unwrap();
    let c = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(c.contains("; Max-Age=300;"), "{c}");
    assert!(c.contains("expires=Thu, 01 Jan 2026 00:05:00 GMT"), "{c}");
}

#[test]
fn save_every_request_refreshes_cookie_and_deadline() {
    let f = sled_with(|c| c.save_every_request(true).cookie_age(100));
    let key = saved_session(&f.engine, &[("a", 1)]);
    for _ in 0..5 {
        f.clock.advance_secs(60);
        let mut s = f.engine.begin_request(Some(&format!("sessionid={key}")));
        let out = f.engine.end_request(&mut s, 200).unwrap();
        assert!(out.saved);
        assert_eq!(
            cookie_pair(&out.set_cookie.unwrap()),
            format!("sessionid={key}")
        );
    }
    assert!(
        f.engine.exists(&key).unwrap(),
        "sliding expiry kept it alive"
    );
}

#[test]
fn a_session_deleted_during_the_request_is_an_error_not_a_resurrection() {
    let f = sled();
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.begin_request(Some(&format!("sessionid={key}")));
    s.insert("b", 2).unwrap();
    f.engine.session(&key).flush().unwrap();
    assert!(matches!(
        f.engine.end_request(&mut s, 200),
        Err(Error::SessionDeleted)
    ));
    assert!(!f.engine.exists(&key).unwrap());
}

#[test]
fn cookie_settings_shape_the_header() {
    let f = sled_with(|c| {
        c.cookie_name("sid")
            .cookie_domain(Some("example.com".into()))
            .cookie_path("/app")
            .cookie_secure(true)
            .cookie_httponly(false)
            .cookie_samesite(Some(SameSite::Strict))
    });
    let mut s = f.engine.begin_request(Some("sessionid=ignored"));
    assert!(!s.request_had_cookie(), "another cookie name");
    s.insert("a", 1).unwrap();
    let c = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(c.starts_with("sid="), "{c}");
    assert!(c.contains("; Domain=example.com;"), "{c}");
    assert!(c.contains("; Path=/app;"), "{c}");
    assert!(c.contains("; SameSite=Strict; Secure"), "{c}");
    assert!(!c.contains("HttpOnly"), "{c}");
}

#[test]
fn samesite_none_deletion_is_secure() {
    let f = sled_with(|c| c.cookie_samesite(Some(SameSite::None)));
    let key = saved_session(&f.engine, &[("a", 1)]);
    let mut s = f.engine.begin_request(Some(&format!("sessionid={key}")));
    s.flush().unwrap();
    let c = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(c.ends_with("; SameSite=None; Secure"), "{c}");
}

#[test]
fn cookie_header_parsing_follows_django() {
    assert_eq!(find_cookie("sessionid=abc", "sessionid"), Some("abc"));
    assert_eq!(
        find_cookie(" a=1 ;  sessionid = abc ; b=2", "sessionid"),
        Some("abc")
    );
    assert_eq!(find_cookie("sessionid=\"abc\"", "sessionid"), Some("abc"));
    assert_eq!(
        find_cookie("sessionid=one; sessionid=two", "sessionid"),
        Some("two")
    );
    assert_eq!(find_cookie("xsessionid=abc", "sessionid"), None);
    assert_eq!(find_cookie("", "sessionid"), None);
    assert_eq!(find_cookie(";;;===", "sessionid"), None);
    assert_eq!(find_cookie("sessionid", "sessionid"), None);
    assert_eq!(find_cookie("sessionid=", "sessionid"), Some(""));
}

#[test]
fn cookie_settings_that_would_break_the_header_are_refused() {
    for bad in [
        sessile::Config::new("unused").cookie_name("a;b"),
        sessile::Config::new("unused").cookie_name(""),
        sessile::Config::new("unused").cookie_name("sp ace"),
        sessile::Config::new("unused").cookie_path("/\r\nSet-Cookie: evil=1"),
        sessile::Config::new("unused").cookie_domain(Some("x.com; Secure".into())),
    ] {
        assert!(matches!(
            sessile::Engine::memory(bad),
            Err(Error::InvalidConfig(_))
        ));
    }
}

#[test]
fn absurd_ages_do_not_break_the_expires_date() {
    // set_expiry refuses such an age (tests/expiry.rs); the configured
    // cookie age (Django's SESSION_COOKIE_AGE) is taken as given.
    let f = sled_with(|c| c.cookie_age(i64::MAX));
    let mut s = f.engine.begin_request(None);
    s.insert("a", 1).unwrap();
    assert!(s.set_expiry(Expiry::seconds(i64::MAX)).is_err());
    let c = f
        .engine
        .end_request(&mut s, 200)
        .unwrap()
        .set_cookie
        .unwrap();
    assert!(c.contains("expires=Fri, 31 Dec 9999 23:59:59 GMT"), "{c}");
}
