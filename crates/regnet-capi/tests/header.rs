//! The committed header `include/regnet.h` is what cbindgen makes of this crate now.
//!
//! When an exported function, type or constant changes, this test fails until the header is
//! regenerated with `REGNET_BLESS_HEADER=1 cargo test -p regnet-capi --test header`.

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../include/regnet.h");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not read the crate");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    if std::env::var_os("REGNET_BLESS_HEADER").is_some() {
        std::fs::write(&header, &generated).expect("writing include/regnet.h");
        eprintln!("wrote {}", header.display());
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        let line = |t: &str| t.lines().nth(first).unwrap_or("(end of file)").to_string();
        panic!(
            "include/regnet.h is out of date with crates/regnet-capi: first difference at line {}:\n  committed: {}\n  generated: {}\n\
             regenerate it with: REGNET_BLESS_HEADER=1 cargo test -p regnet-capi --test header",
            first + 1,
            line(&committed),
            line(&generated)
        );
    }
}
