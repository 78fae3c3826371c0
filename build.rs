//! With the `header` feature, generates `include/sessile.h` from `src/ffi/`
//! with cbindgen (pinned in Cargo.toml, so CI regenerates byte-identical
//! output and can fail on any drift between the code and the committed
//! header). Without it, the committed header is used as it is: a crate that
//! depends on sessile does not compile cbindgen.

#[cfg(not(feature = "header"))]
fn main() {
    soname();
}

/// The C library's SONAME on Linux: `libsessile.so.<major>`, so programs
/// linked against one major version never load another (installed as
/// `libsessile.so.0.1.0` with the links `libsessile.so.0` and
/// `libsessile.so`; `make install`). The major version is the crate's; it
/// changes with every break of the C ABI (docs/ABI.md).
fn soname() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets it");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsessile.so.{major}");
    }
}

#[cfg(feature = "header")]
use std::env;
#[cfg(feature = "header")]
use std::fs;
#[cfg(feature = "header")]
use std::path::{Path, PathBuf};

#[cfg(feature = "header")]
fn main() {
    soname();
    for watched in ["build.rs", "cbindgen.toml", "src/ffi", "include/sessile.h"] {
        println!("cargo:rerun-if-changed={watched}");
    }
    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let header = generate(&root);
    let path = root.join("include").join("sessile.h");
    if fs::read(&path).ok().as_deref() == Some(&header[..]) {
        return;
    }
    if let Err(e) = write_atomically(&path, &header) {
        // A read-only source tree (a vendored or packaged copy) keeps the
        // committed header; the build itself does not need it.
        println!("cargo:warning=could not write {}: {e}", path.display());
    }
}

#[cfg(feature = "header")]
fn generate(root: &Path) -> Vec<u8> {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    config.after_includes = Some(version_macros());
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src").join("ffi").join("mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate include/sessile.h: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    out
}

/// The library version, from Cargo.toml, as macros a C program can test at
/// compile time (`sessile_version()` gives it at run time).
#[cfg(feature = "header")]
fn version_macros() -> String {
    let part = |name: &str| env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"));
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    format!(
        "
/**
 * The version of sessile this header belongs to (Cargo.toml's version).
 * SESSILE_VERSION_NUMBER orders versions: 8 bits each for major, minor and
 * patch, as (major << 16) | (minor << 8) | patch.
 */
#define SESSILE_VERSION_MAJOR {major}
#define SESSILE_VERSION_MINOR {minor}
#define SESSILE_VERSION_PATCH {patch}
#define SESSILE_VERSION_STRING \"{version}\"
#define SESSILE_VERSION_NUMBER \\
    ((SESSILE_VERSION_MAJOR << 16) | (SESSILE_VERSION_MINOR << 8) | SESSILE_VERSION_PATCH)",
        version = part("CARGO_PKG_VERSION"),
    )
}

/// Writes through a temporary file and a rename, so a concurrent build never
/// sees half a header.
#[cfg(feature = "header")]
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("h.tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}
