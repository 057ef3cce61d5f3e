//! End to end: `regnet::extract` on the EWF (E01) and split raw forms of every image fixture
//! (testdata/build-ewf.sh) gives the raw image's report; only `source` fields that name or
//! describe the container differ (`image`, `container`, `segments`, `evidence`, and for EWF the
//! read counts `bytes_read` and `reads`, which count the container's own reads). The stored MD5 is
//! in `source.evidence`. Skips with a printed reason when the fixtures are not built.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/testdata")
}

/// The report as JSON, with the `source` fields that describe the container taken out.
fn comparable(r: &regnet::Report) -> (serde_json::Value, serde_json::Value) {
    let mut v = serde_json::to_value(r).unwrap();
    let source = v.as_object_mut().unwrap().remove("source").unwrap();
    let mut s = source.clone();
    for k in ["image", "container", "segments", "evidence", "bytes_read", "reads"] {
        s.as_object_mut().unwrap().remove(k);
    }
    (v, s)
}

#[test]
fn every_form_reports_as_the_raw_image() {
    let dir = fixtures().join("ewf");
    if !dir.join("MANIFEST").is_file() {
        eprintln!("skipped: target/testdata/ewf is not built (testdata/build.sh or testdata/build-ewf.sh)");
        return;
    }
    let opts = regnet::ExtractOptions::default();
    let mut compared = 0;
    for (name, raw) in [
        ("gpt", "images/gpt.raw"),
        ("mbr", "images/mbr.raw"),
        ("bare", "images/bare.raw"),
        ("logical", "images/logical.raw"),
        ("debian-mbr", "linux/debian-mbr.raw"),
    ] {
        let raw = fixtures().join(raw);
        if !raw.is_file() {
            eprintln!("skipped {name}: {} missing", raw.display());
            continue;
        }
        let base = regnet::extract(&raw, &opts).unwrap_or_else(|e| panic!("{}: {e}", raw.display()));
        let (base_body, base_source) = comparable(&base);
        for (form, container, segments_at_least) in [
            (format!("{name}.E01"), "ewf", 1),
            (format!("{name}-multi/{name}.E01"), "ewf", 1),
            (format!("{name}-stored/{name}.E01"), "ewf", 3),
            (format!("{name}-split/{name}.001"), "split", 2),
            (format!("{name}-alpha/{name}.aa"), "split", 2),
        ] {
            let path = dir.join(&form);
            if !path.is_file() {
                eprintln!("skipped {form}: not built (ewf-tools missing?)");
                continue;
            }
            let r = regnet::extract(&path, &opts).unwrap_or_else(|e| panic!("{form}: {e}"));
            let (body, source) = comparable(&r);
            assert_eq!(body, base_body, "{form}: the report differs from the raw image's");
            assert_eq!(source, base_source, "{form}: source differs beyond the container's fields");
            let s = r.source.as_ref().unwrap();
            let b = base.source.as_ref().unwrap();
            assert_eq!(s.container, container, "{form}");
            assert_eq!(s.image, path.display().to_string());
            assert!(s.segments.len() >= segments_at_least, "{form}: {:?}", s.segments);
            assert_eq!(s.segments.first().map(String::as_str), Some(s.image.as_str()));
            assert!(b.segments.is_empty() && b.evidence.is_none());
            if container == "split" {
                // Split pieces are the raw bytes: the same reads, counted the same.
                assert_eq!((s.bytes_read, s.reads), (b.bytes_read, b.reads), "{form}");
                assert!(s.evidence.is_none());
            } else {
                let e = s.evidence.as_ref().expect("EWF evidence");
                assert_eq!(e.format, "ewf");
                assert_eq!(e.case_number.as_deref(), Some("CASE-2026-015"));
                assert_eq!(e.examiner.as_deref(), Some("Regnet Examiner"));
                assert_eq!(e.sectors * u64::from(e.bytes_per_sector), s.virtual_size);
                let md5 = e.md5.as_deref().unwrap_or_default();
                assert!(
                    md5.len() == 32 && md5.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                    "{md5}"
                );
            }
            compared += 1;
            eprintln!("{form}: same report as {} ({} segments)", raw.display(), s.segments.len());
        }
    }
    eprintln!("{compared} evidence forms compared");
}

/// The stored MD5 is the MD5 of the raw image (checked with `md5sum` when it is there).
#[test]
fn stored_md5_is_the_raw_images() {
    let e01 = fixtures().join("ewf/bare.E01");
    let raw = fixtures().join("images/bare.raw");
    if !e01.is_file() || !raw.is_file() {
        eprintln!("skipped: {} or {} missing", e01.display(), raw.display());
        return;
    }
    let Ok(out) = std::process::Command::new("md5sum").arg(&raw).output() else {
        eprintln!("skipped: md5sum not available");
        return;
    };
    let sum = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned();
    let r = regnet::extract(&e01, &regnet::ExtractOptions::default()).unwrap();
    let e = r.source.unwrap().evidence.unwrap();
    assert_eq!(e.md5.as_deref(), Some(sum.as_str()));
}
