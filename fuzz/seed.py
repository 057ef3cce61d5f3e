#!/usr/bin/env python3
"""Seed a fuzz corpus from hive files found under the given folders.

hive_walk takes a hive file as it is. log_replay takes one input that packs a
primary and its two logs: a flags byte (1 = re-seal HvLE hashes, 2 = also replay
over an owned copy and check that it reads the same as the overlay), then
u32-length-prefixed primary, u32-length-prefixed LOG1, and LOG2 to the end
(see fuzz/src/lib.rs). A hive with no logs is packed with empty logs.
"""
import hashlib, os, struct, sys

target, out, *dirs = sys.argv[1:]
MAX = 1 << 20

# ESXi snapshot deltas (container_cowd, container_sesparse): small files made here, each a delta
# with a few grains in two or three grain tables (see crates/regnet-image/src/container/vmdk/).
def cowd_seed(capacity, grain, grains):
    per_gt = grain * 4096
    gd_entries = -(-capacity // per_gt)
    b = bytearray(2048)
    struct.pack_into('<4s7I', b, 0, b'COWD', 1, 3, capacity, grain, 4, gd_entries, 0)
    b += bytes(-(-gd_entries * 4 // 512) * 512 or 512)
    gts = {}
    for g, fill in grains:
        t = g // 4096
        if t not in gts:
            gts[t] = len(b)
            struct.pack_into('<I', b, 2048 + 4 * t, len(b) // 512)
            b += bytes(16384)
        struct.pack_into('<I', b, gts[t] + 4 * (g % 4096), len(b) // 512)
        b += bytes([fill]) * (grain * 512)
    struct.pack_into('<I', b, 28, len(b) // 512)
    return bytes(b)

def sesparse_seed(capacity, grains):
    gd_entries = max(1, -(-capacity // 32768))
    gd_sectors = -(-gd_entries * 8 // 512)
    tables = 4 + gd_sectors
    grains_at = tables + gd_entries * 64
    b = bytearray(grains_at * 512)
    struct.pack_into('<10Q', b, 0, 0xcafebabe, 0x200000001, capacity, 8, 64, 0, 0, 0, 0, 0)
    regions = [(1, 1), (2, 2), (0, 0), (4, gd_sectors), (tables, gd_entries * 64), (0, 0), (0, 0),
               (grains_at, -(-capacity // 8) * 8)]
    for i, (o, s) in enumerate(regions):
        struct.pack_into('<2Q', b, 80 + 16 * i, o, s)
    struct.pack_into('<Q', b, 512, 0xcafecafe)
    gts, n = {}, 0
    for g, kind, fill in grains:
        t = g // 4096
        if t not in gts:
            gts[t] = len(gts)
            struct.pack_into('<Q', b, 2048 + 8 * t, 0x1000000000000000 | gts[t])
        entry = kind << 60
        if kind == 3:
            entry |= (n & 0xfff) << 48 | n >> 12
            b += bytes([fill]) * 4096
            n += 1
        struct.pack_into('<Q', b, (tables + 64 * gts[t]) * 512 + 8 * (g % 4096), entry)
    return bytes(b)

ESXI_SEEDS = {
    "container_cowd": lambda: [
        cowd_seed(64, 1, [(0, 1), (5, 2)]),
        cowd_seed(8192 + 100, 1, [(0, 1), (1, 2), (4096, 3), (8192 + 99, 4)]),
        cowd_seed(3 * 4096 * 2 + 5, 2, [(0, 5), (4097, 6), (4096 * 3 - 1, 7)]),
    ],
    "container_sesparse": lambda: [
        sesparse_seed(64, [(0, 3, 1), (1, 2, 0), (2, 1, 0)]),
        sesparse_seed(2 * 32768 + 3, [(0, 3, 1), (4095, 3, 2), (4096, 2, 0), (8192, 3, 3)]),
    ],
}
if target in ESXI_SEEDS:
    seeds = ESXI_SEEDS[target]()
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

def hives():
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for root, _, files in os.walk(d):
            for f in sorted(files):
                p = os.path.join(root, f)
                try:
                    with open(p, 'rb') as fh:
                        head = fh.read(32)
                except OSError:
                    continue
                # primaries only (file type 0 at byte 28)
                if head[:4] == b'regf' and len(head) >= 32 and struct.unpack_from('<I', head, 28)[0] == 0:
                    yield p

def read(p):
    try:
        with open(p, 'rb') as fh:
            return fh.read()
    except OSError:
        return b''

def sibling(p, suffix):
    d, name = os.path.split(p)
    for f in os.listdir(d):
        if f.lower() == (name + suffix).lower():
            return read(os.path.join(d, f))
    return b''

# LVM2 (lvm): small disks from the test-only writer, `regnet-fixtures lvm` (one PV, two PVs on one
# disk, metadata that wrapped, refused volume kinds, two metadata areas; crates/regnet-testkit/src/lvm.rs).
if target == "lvm":
    import subprocess, tempfile
    root = os.path.dirname(os.path.abspath(dirs[0])) if dirs else os.getcwd()
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["cargo", "run", "--quiet", "-p", "regnet-testkit", "--bin", "regnet-fixtures", "--", "lvm", tmp]
        if subprocess.run(cmd, cwd=root).returncode != 0:
            print("seed.py: regnet-fixtures lvm failed; the corpus keeps what it has", file=sys.stderr)
        for f in sorted(os.listdir(tmp)):
            data = read(os.path.join(tmp, f))
            if data:
                with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
                    fh.write(data)
                n += 1
    print(f"seeded {n} inputs into {out}", file=sys.stderr)
    sys.exit(0)

# Targets that take VM configuration files: the samples in testdata/vm.
VM_SEEDS = {"vmx": (".vmx",), "ovf": (".ovf", ".ova"), "libvirt": (".xml",)}
if target in VM_SEEDS:
    n = 0
    for d in dirs:
        vm = os.path.join(d, "vm")
        if not os.path.isdir(vm):
            continue
        for f in sorted(os.listdir(vm)):
            data = read(os.path.join(vm, f)) if f.lower().endswith(VM_SEEDS[target]) else b""
            if data and len(data) <= MAX:
                with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
                    fh.write(data)
                n += 1
    print(f"seeded {n} inputs into {out}", file=sys.stderr)
    sys.exit(0)

# ext4: small volumes made here by mke2fs -d (ext4 with 1 KiB blocks, with inline data, with an
# extent tree of depth 1; ext3; ext2 with indirect blocks) from a tiny /etc, 2 MiB or less each;
# the ext3 and ext4 ones also with a journal that needs recovery.
# Skipped with a message when mke2fs is missing (Debian package e2fsprogs).
def ext4_seeds():
    import shutil, subprocess, tempfile
    if not shutil.which("mke2fs"):
        print("ext4 seeds skipped: mke2fs is not installed (Debian package e2fsprogs)", file=sys.stderr)
        return []
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        for d in ("etc/netplan", "usr/lib", "var", "dir"):
            os.makedirs(os.path.join(src, d))
        def put(name, data):
            with open(os.path.join(src, name), "wb") as fh:
                fh.write(data)
        put("usr/lib/os-release", b'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\n')
        put("etc/hostname", b"web-07\n")
        put("etc/netplan/50-cloud-init.yaml", b"network:\n  ethernets:\n    ens3:\n      dhcp4: true\n")
        os.symlink("../usr/lib/os-release", os.path.join(src, "etc/os-release"))
        os.symlink("/" + "/".join("folder-%02d" % i for i in range(12)), os.path.join(src, "etc/slow"))
        for i in range(40):
            put("dir/entry-%03d" % i, b"%d\n" % i)
        with open(os.path.join(src, "var/frag"), "wb") as fh:
            for i in range(6):
                fh.seek(i * 3072)
                fh.write(bytes([i + 1]) * 1024)
        put("var/big", bytes(range(256)) * 60)
        for kind, extra, size in (("ext4", ["-O", "^has_journal"], "512k"), ("ext4", ["-O", "^has_journal,inline_data"], "512k"),
                                  ("ext4", [], "2M"), ("ext3", [], "2M"), ("ext2", [], "256k")):
            img = os.path.join(tmp, "img")
            if os.path.exists(img):
                os.remove(img)
            r = subprocess.run(["mke2fs", "-q", "-F", "-t", kind, "-b", "1024", "-N", "64", *extra, "-d", src,
                                "-L", "seed", img, size], capture_output=True,
                               env=dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000"))
            if r.returncode != 0:
                print("ext4 seed: mke2fs failed: " + r.stderr.decode(errors="replace"), file=sys.stderr)
                continue
            seeds.append(read(img))
            if kind in ("ext4", "ext3") and not any("^has_journal" in e for e in extra):
                # A journal that needs recovery: one transaction rewriting the root folder's
                # first block (debugfs jo/jw/jc), so the fuzzer starts inside the replay.
                root = subprocess.run(["debugfs", "-R", "bmap / 0", img], capture_output=True).stdout.strip()
                blk = os.path.join(tmp, "blk")
                with open(blk, "wb") as fh:
                    fh.write(read(img)[int(root or 0) * 1024:][:1024])
                cmds = os.path.join(tmp, "cmds")
                with open(cmds, "w") as fh:
                    fh.write("jo\njw -b %d %s\njc\n" % (int(root or 0), blk))
                if subprocess.run(["debugfs", "-w", "-f", cmds, img], capture_output=True).returncode == 0:
                    seeds.append(read(img))
    return seeds

if target == "ext4":
    seeds = ext4_seeds()
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

# xfs: XFS needs at least 300 MiB to make, so real images made here by mkfs.xfs -p (v5 and v4,
# a small /etc, a directory of 300 entries, inline and remote links) are packed as records of a
# big-endian u32 sector number and that 512-byte sector, all-zero sectors left out (see
# fuzz/fuzz_targets/xfs.rs); plus the first 64 KiB of each raw (a truncated image). Skipped with a
# message when mkfs.xfs is missing.
def xfs_seeds():
    import shutil, subprocess, tempfile
    if not shutil.which("mkfs.xfs"):
        print("xfs seeds skipped: mkfs.xfs is not installed (Debian package xfsprogs)", file=sys.stderr)
        return []
    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.mkdir(src)
        def put(name, data):
            p = os.path.join(src, name)
            with open(p, "wb") as fh:
                fh.write(data)
            return p
        osr = put("os-release", b'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n')
        host = put("hostname", b"db-07.example.com\n")
        ifcfg = put("ifcfg-eth0", b"DEVICE=eth0\nBOOTPROTO=none\nIPADDR=10.0.0.5\nPREFIX=24\n")
        small = put("small", bytes(range(256)) * 40)
        lines = ["/dev/null", "0 0", "d--755 0 0", "etc d--755 0 0",
                 " os-release l--777 0 0 ../usr/lib/os-release", " hostname ---644 0 0 " + host,
                 " long l--777 0 0 /" + "/".join("folder-name-%02d" % i for i in range(40)),
                 " sysconfig d--755 0 0", "  network-scripts d--755 0 0", "   ifcfg-eth0 ---644 0 0 " + ifcfg,
                 "  $", "$", "$", "usr d--755 0 0", " lib d--755 0 0", "  os-release ---644 0 0 " + osr, "$", "$",
                 "dir d--755 0 0"]
        lines += [" entry-%03d ---644 0 0 %s" % (i, host) for i in range(300)]
        lines += ["$", "small ---644 0 0 " + small, "$"]
        proto = put("proto", ("\n".join(lines) + "\n").encode())
        for extra in ([], ["-m", "crc=0"]):
            img = os.path.join(tmp, "img")
            with open(img, "wb") as fh:
                fh.truncate(320 << 20)
            r = subprocess.run(["mkfs.xfs", "-q", *extra, "-p", proto, img], capture_output=True)
            if r.returncode != 0:
                print("xfs seed: mkfs.xfs failed: " + r.stderr.decode(errors="replace"), file=sys.stderr)
                continue
            packed = bytearray()
            with open(img, "rb") as fh:
                head = fh.read(65536)
                fh.seek(0)
                n = 0
                while True:
                    block = fh.read(1 << 20)
                    if not block:
                        break
                    for i in range(0, len(block), 512):
                        sector = block[i:i + 512]
                        if any(sector):
                            packed += struct.pack(">I", n + i // 512) + sector
                    n += len(block) // 512
            seeds += [bytes(packed), head]
    return seeds

if target == "xfs":
    seeds = xfs_seeds()
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

# EWF: the one-segment E01s testdata/build-ewf.sh makes of the tiny raw disk.
if target == "container_ewf":
    n = 0
    for d in dirs:
        seed_dir = os.path.join(d, "ewf", "fuzz-seeds")
        for name in sorted(os.listdir(seed_dir)) if os.path.isdir(seed_dir) else []:
            data = read(os.path.join(seed_dir, name))
            with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
                fh.write(data)
            n += 1
    print(f"seeded {n} inputs into {out}", file=sys.stderr)
    sys.exit(0)

# Targets that take disks, volumes or containers: seeds from the tiny images build-images.sh makes.
DISK_SEEDS = {
    "container": ["tiny.vhd", "tiny.vhdx", "tiny.vmdk", "tiny-stream.vmdk", "tiny.qcow2", "tiny.raw"],
    "container_vhd": ["tiny.vhd"],
    "container_vhdx": ["tiny.vhdx"],
    "container_vmdk": ["tiny.vmdk", "tiny-stream.vmdk"],
    "container_qcow2": ["tiny.qcow2"],
    "partitions": ["tiny.raw"],
    "ntfs": ["tiny.ntfs"],
    "extract": ["tiny.qcow2", "tiny.vhdx", "tiny.raw", "tiny-stream.vmdk", "tiny-linux.raw"],
}
if target in DISK_SEEDS:
    n = 0
    for d in dirs:
        for name in DISK_SEEDS[target]:
            p = os.path.join(d, "images", "fuzz-seeds", name)
            data = read(p) if os.path.isfile(p) else b""
            if data and len(data) <= 16 * MAX:
                with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
                    fh.write(data)
                n += 1
    ex = os.path.join(dirs[0], "example", "disk.qcow2") if dirs else ""
    if target in ("container", "extract") and os.path.isfile(ex):
        data = read(ex)
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
        n += 1
    print(f"seeded {n} inputs into {out}", file=sys.stderr)
    sys.exit(0)

if target == "netplan":
    # netplan YAML from the realistic trees, each alone and each pair joined by the marker
    # the target splits on (the second part goes to /run/netplan).
    import glob
    files = sorted(glob.glob(os.path.join(dirs[0], "linux", "trees", "*", "etc", "netplan", "*.yaml")))
    texts = [read(p) for p in files]
    seeds = texts + [a + b"\n#8<\n" + b for a in texts for b in texts if a != b]
    seeds.append(b"network:\n  version: 2\n  renderer: networkd\n  bonds:\n    bond0: {interfaces: [e1, e2]}\n"
                 b"  vlans:\n    v10: {id: 10, link: bond0, addresses: [10.0.0.2/24]}\n"
                 b"  bridges:\n    br0: {interfaces: [v10], dhcp4: yes}\n  ethernets:\n    e1: {}\n    e2: {}\n")
    seeds.append(b"a: &a [x, x]\nb: &b [*a, *a]\nnetwork: {ethernets: {e: {nameservers: {search: *b}}}}\n")
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

if target in ("networkd", "ifupdown"):
    # The trees' files, each alone, and each network file joined by the marker the target splits
    # on with the drop-ins, links and netdevs (networkd), or the main file with its sourced files.
    import glob
    root = os.path.join(dirs[0], "linux", "trees")
    if target == "networkd":
        pats = ["*/etc/systemd/network/*.network", "*/usr/lib/systemd/network/*.network", "*/etc/systemd/network/*.link",
                "*/usr/lib/systemd/network/*.link", "*/etc/systemd/network/*.network.d/*.conf"]
    else:
        pats = ["*/etc/network/interfaces", "*/etc/network/interfaces.d/*"]
    texts = [read(p) for pat in pats for p in sorted(glob.glob(os.path.join(root, pat)))]
    m = b"\n#8<\n"
    seeds = list(texts) + [a + m + b for a in texts for b in texts if a != b][:200]
    if target == "networkd":
        seeds.append(m.join([b"[Match]\nName=eth0\n[Network]\nAddress=10.0.0.2/24\n", b"null",
                             b"[Network]\nDNS=1.1.1.1#x\nAddress=\n", b"[Match]\nMACAddress=52:54:00:00:00:01\n[Network]\nBond=bond0\n",
                             b"[Match]\nMACAddress=52:54:00:00:00:01\n[Link]\nName=lan0\n",
                             b"[NetDev]\nName=bond0\nKind=bond\n", b"[Match]\nName=!en* \\\n eth*\nVirtualization=vm\n[Route]\nGateway=10.0.0.1\n"]))
    else:
        seeds.append(m.join([b"source-directory interfaces.d\nsource other sub/*\nauto eth0\niface eth0 inet static\n address 10.0.0.2\n netmask 255.255.255.0\n",
                             b"auto eth1\niface eth1 inet6 static\n address 2001:db8::2/64\n gateway 2001:db8::1\n",
                             b"source /etc/network/interfaces\n", b"source-directory /etc/network/loop\n",
                             b"auto bond0\niface bond0 inet dhcp\n bond-slaves eth2 eth3\n"]))
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

if target in ("keyfile", "ifcfg"):
    # NetworkManager keyfiles and ifcfg files from the trees (keyfiles also with their .bak
    # copies), plus a few written here as nmcli, cloud-init, anaconda and YaST write them.
    import glob
    root = os.path.join(dirs[0], "linux", "trees")
    if target == "keyfile":
        pats = ["*/etc/NetworkManager/system-connections/*", "*/usr/lib/NetworkManager/system-connections/*"]
        extra = [b"[connection]\nid=bond0\nuuid=aaaaaaaa-2222-3333-4444-555555555555\ntype=bond\ninterface-name=bond0\n[bond]\nmode=active-backup\n"
                 b"[ipv4]\nmethod=manual\naddress1=10.1.0.5/24,10.1.0.1\naddresses2=10.1.0.6;24\nroute1=10.9.0.0/16,10.1.0.2,5\ndns=10.1.0.2;\n"
                 b"[ipv6]\nmethod=auto\naddress1=2001:db8::5\ngateway=2001:db8::1\n",
                 b"[connection]\ntype=vlan\nautoconnect=false\nmaster=br0\nslave-type=bridge\n[vlan]\nid=20\nparent=eth0\n"
                 b"[ethernet]\nmac-address=82;84;0;192;255;14;\ncloned-mac-address=stable\nmtu=9000\n[ipv4]\nmethod=auto\nnever-default=true\n"]
    else:
        pats = ["*/etc/sysconfig/network-scripts/ifcfg-*", "*/etc/sysconfig/network-scripts/route*-*", "*/etc/sysconfig/network"]
        extra = [b"DEVICE=bond0.20\nVLAN=yes\nTYPE=Vlan\nPHYSDEV=bond0\nVLAN_ID=20\nBOOTPROTO=dhcp\nIPV6INIT=yes\nIPV6ADDR=2001:db8::5/64\n"
                 b"IPV6ADDR_SECONDARIES=\"2001:db8::6\"\nIPV6_DEFAULTGW=2001:db8::1%eth0\nDNS1=10.0.0.2\nDOMAIN='a.example b.example'\nMASTER=bond0\n",
                 b"ADDRESS0=10.50.0.0\nNETMASK0=255.255.0.0\nGATEWAY0=10.8.0.9\nMETRIC0=7\n10.9.0.0/16 via 10.0.0.3 dev eth0 metric 5\ndefault via 10.0.0.1\n",
                 b"BOOTPROTO='static'\nSTARTMODE='auto'\nIPADDR='192.168.100.5/24'\nIPADDR_2='192.168.101.5'\nNETMASK_2='255.255.255.0'\n"
                 b"LLADDR='02:00:00:00:00:05'\nETHERDEVICE=eth0\nVLAN_ID=10\nBONDING_MASTER=yes\nBONDING_SLAVE_0=eth3\n"
                 b"default 192.168.100.1 - -\n10.20.0.0 192.168.101.1 255.255.0.0 eth0\nX=$'\\x41\\u00e9'\nY=\"a\\\"b\"\n"]
    seeds = [read(p) for pat in pats for p in sorted(glob.glob(os.path.join(root, pat))) if os.path.isfile(p)] + extra
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

if target == "guest_view":
    seeds = [
        b"f /usr/lib/os-release ID=ubuntu\nl /etc/os-release ../usr/lib/os-release\nr /etc/os-release\nL /etc\nk /etc/os-release\n",
        b"l /a b\nl /b a\nr /a\nn /a\nl /up ../../../../etc/shadow\nr /up\n",
        b"s /d again\nf /d/f x\nr /d/again/d/again/d/f\nL /d\nl /lib usr/lib\nd /usr/lib\nr /lib/os-release\n",
    ]
    for data in seeds:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"seeded {len(seeds)} inputs into {out}", file=sys.stderr)
    sys.exit(0)

n = 0
for p in hives():
    data = read(p)
    if target == 'network' and len(data) > MAX:
        continue
    if target == 'log_replay':
        l1, l2 = sibling(p, '.LOG1'), sibling(p, '.LOG2')
        data = bytes([3]) + struct.pack('<I', len(data)) + data + struct.pack('<I', len(l1)) + l1 + l2
    if len(data) > MAX:
        continue
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), 'wb') as fh:
        fh.write(data)
    n += 1
print(f"seeded {n} inputs into {out}", file=sys.stderr)
