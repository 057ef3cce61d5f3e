use super::*;

fn guest(fs: MemoryFs) -> GuestView<'static> {
    GuestView::new(Box::new(fs), GuestLimits::default())
}

fn sample() -> MemoryFs {
    let mut fs = MemoryFs::new();
    fs.add_file("/usr/lib/os-release", b"ID=ubuntu\n");
    fs.add_link("/etc/os-release", "../usr/lib/os-release");
    fs.add_file("/etc/hostname", b"web01\n");
    fs.add_link("/etc/resolv.conf", "/run/systemd/resolve/stub-resolv.conf");
    fs.add_link("/etc/abs", "/etc/hostname");
    fs.add_link("/etc/up", "../../../../../../etc/hostname");
    fs.add_link("/etc/shadow-escape", "../../../../etc/shadow");
    fs.add_link("/etc/proc", "/proc/self/environ");
    fs.add_link("/etc/self", "self");
    fs.add_link("/etc/self", "self");
    fs.add_link("/etc/a", "b");
    fs.add_link("/etc/b", "a");
    fs.add_link("/etc/empty", "");
    fs.add_link("/lib", "usr/lib");
    fs
}

#[test]
fn links_resolve_inside_the_guest() {
    let mut g = guest(sample());
    assert_eq!(g.read("/etc/os-release").unwrap(), b"ID=ubuntu\n");
    assert_eq!(g.read("etc/os-release").unwrap(), b"ID=ubuntu\n", "relative to the root");
    assert_eq!(g.read("/etc/abs").unwrap(), b"web01\n");
    assert_eq!(g.read("/etc/up").unwrap(), b"web01\n", ".. at the root stays at the root");
    assert_eq!(g.read("/lib/os-release").unwrap(), b"ID=ubuntu\n", "a link to a folder on the way");
    assert_eq!(g.read("/../../etc/./hostname").unwrap(), b"web01\n");
    assert_eq!(g.read("/usr/lib/../../etc/hostname").unwrap(), b"web01\n");
    assert_eq!(g.read_link("/etc/resolv.conf").unwrap(), b"/run/systemd/resolve/stub-resolv.conf");
    assert_eq!(g.resolve_nofollow("/etc/resolv.conf").unwrap().kind, NodeKind::Symlink);
    assert!(!g.exists("/etc/resolv.conf").unwrap(), "it points into /run, which the guest lacks");
}

#[test]
fn escapes_loops_and_nonsense_fail_alone() {
    let mut g = guest(sample());
    for (path, want) in [
        ("/etc/shadow-escape", "not found"),
        ("/etc/proc", "not found"),
        ("/etc/self", "symbolic links"),
        ("/etc/a", "symbolic links"),
        ("/etc/empty", "empty target"),
        ("/etc/hostname/x", "not a directory"),
        ("/nope", "not found"),
    ] {
        let e = g.read(path).unwrap_err().to_string();
        assert!(e.contains(want), "{path}: {e}");
    }
    // The rest still reads.
    assert_eq!(g.read("/etc/hostname").unwrap(), b"web01\n");
    assert!(g.read("/etc").unwrap_err().to_string().contains("not a regular file"));
    assert!(g.list("/etc/hostname").unwrap_err().to_string().contains("not a directory"));
    assert!(g.read_link("/etc/hostname").unwrap_err().to_string().contains("not a symbolic link"));
}

#[test]
fn a_link_that_grows_the_path_is_bounded() {
    let mut fs = MemoryFs::new();
    // Each step adds components but stays under 40 links: the component bound stops it.
    fs.add_link("/x", &"./".repeat(2000));
    fs.add_dir("/d");
    fs.add_link("/d/y", &format!("{}y", "../d/".repeat(800)));
    let mut g = guest(fs);
    let e = g.resolve("/d/y").unwrap_err().to_string();
    assert!(e.contains("too many components"), "{e}");
    assert_eq!(g.resolve("/x").unwrap().kind, NodeKind::Dir, "2000 `.` are 2000 components");
}

#[test]
fn folders_that_list_themselves_do_not_loop() {
    let mut fs = MemoryFs::new();
    let d = fs.add_dir("/d");
    fs.link_node(d, b"again", d);
    fs.add_file("/d/f", b"x");
    let mut g = guest(fs);
    let deep = format!("/d{}/f", "/again".repeat(5000));
    let e = g.read(&deep).unwrap_err().to_string();
    assert!(e.contains("too many components"), "{e}");
    assert_eq!(g.read(&format!("/d{}/f", "/again".repeat(100))).unwrap(), b"x");
    let names: Vec<Vec<u8>> = g.list("/d").unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, [b"again".to_vec(), b"f".to_vec()]);
}

#[test]
fn big_files_and_listings_are_refused_before_allocation() {
    let mut fs = MemoryFs::new();
    fs.add_file("/big", &[7u8; 100]);
    for i in 0..20 {
        fs.add_file(&format!("/many/{i}"), b"");
    }
    let limits = GuestLimits { max_file_bytes: 99, max_dir_entries: 10, ..GuestLimits::default() };
    let mut g = GuestView::new(Box::new(fs), limits);
    let e = g.read("/big").unwrap_err();
    assert!(matches!(e, ImageError::LimitExceeded { limit: "max_file_bytes", value: 100, .. }), "{e}");
    let mut buf = [0u8; 4];
    assert_eq!(g.read_at("/big", 98, &mut buf).unwrap(), 2, "a range of a big file still reads");
    assert!(matches!(g.list("/many").unwrap_err(), ImageError::LimitExceeded { limit: "max_dir_entries", .. }));
    assert_eq!(g.fs_kind(), FsKind::HostFolder);
}

#[test]
fn fs_kind_names() {
    assert_eq!(
        [FsKind::Ext4, FsKind::Xfs, FsKind::Ntfs, FsKind::HostFolder].map(FsKind::name),
        ["ext4", "xfs", "ntfs", "folder"]
    );
}
