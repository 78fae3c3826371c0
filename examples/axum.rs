//! A tiny axum app with sessions in sessile: log in, count visits, log out.
//!
//! ```sh
//! cargo run --example axum --features tower-sessions
//! curl -c jar -b jar http://127.0.0.1:3000/login/alice   # new session id
//! curl -c jar -b jar http://127.0.0.1:3000/               # alice, visit 1, 2, …
//! curl -c jar -b jar http://127.0.0.1:3000/logout
//! ```
//!
//! Sessions live in ./sessile-axum.db; `sessile list --db sessile-axum.db`
//! shows them (after the app has stopped: one process per database).

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use sessile::{Config, Engine, TowerStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// Logging in cycles the session id, so an id planted in the browser
/// before login (session fixation) is worthless after it.
async fn login(session: Session, Path(user): Path<String>) -> Result<String, String> {
    session.cycle_id().await.map_err(|e| e.to_string())?;
    session
        .insert("user", &user)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!("logged in as {user}\n"))
}

async fn counter(session: Session) -> Result<String, String> {
    let visits: u64 = session
        .get("visits")
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or(0)
        + 1;
    session
        .insert("visits", visits)
        .await
        .map_err(|e| e.to_string())?;
    let user: Option<String> = session.get("user").await.map_err(|e| e.to_string())?;
    let user = user.as_deref().unwrap_or("anonymous");
    Ok(format!("{user}, visit {visits}\n"))
}

/// Logging out deletes the session and its cookie.
async fn logout(session: Session) -> Result<&'static str, String> {
    session.flush().await.map_err(|e| e.to_string())?;
    Ok("logged out\n")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Engine::open(Config::new("sessile-axum.db"))?;
    let sessions = SessionManagerLayer::new(TowerStore::new(engine.clone()))
        .with_secure(false) // plain http on localhost; keep the default in production
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(1)));
    let app = Router::new()
        .route("/", get(counter))
        .route("/login/{user}", get(login))
        .route("/logout", get(logout))
        .layer(sessions);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    engine.close()?;
    Ok(())
}
