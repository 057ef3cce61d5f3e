//! Logs beside a hive are found whatever the case of their names, as NTFS would resolve them.

use std::path::PathBuf;

fn names(v: &[PathBuf]) -> Vec<String> {
    v.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

#[test]
fn logs_are_found_case_insensitively_in_order() {
    let dir = std::env::temp_dir().join(format!("regnet-logs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["system", "System.Log2", "SYSTEM.log1", "system.LOG", "system.LOG1.bak", "SOFTWARE.LOG1"] {
        std::fs::write(dir.join(f), b"").unwrap();
    }
    let found = regnet::find_logs(&dir.join("system"));
    assert_eq!(names(&found), ["SYSTEM.log1", "System.Log2", "system.LOG"]);
    // The hive's own name may be spelled differently too.
    assert_eq!(regnet::find_logs(&dir.join("SYSTEM")).len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// yarp's discovery cases: which of LOG/LOG1/LOG2 exist beside `aa`/`AA`.
#[test]
fn yarp_discovery_cases() {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/yarp/Discovery");
    if !base.is_dir() {
        eprintln!("skipped: {} is absent", base.display());
        return;
    }
    let cases: [(&str, &str, &[&str]); 5] = [
        ("1", "aa", &["aa.LOG1", "aa.LOG2", "aa.LOG"]),
        ("2", "AA", &["aa.LOG1", "aa.LOG2"]),
        ("3", "AA", &["aa.log1", "aa.log"]),
        ("4", "AA", &["aa.log1", "aa.log2", "aa.LOG"]),
        ("5", "aa", &[]),
    ];
    for (dir, hive, want) in cases {
        let found = regnet::find_logs(&base.join(dir).join(hive));
        assert_eq!(names(&found), want, "Discovery/{dir}");
    }
}
