#!/usr/bin/env bash
# Builds VM fixtures under target/testdata/vms: VM configuration files as VMware, ovftool and virsh
# write them, beside real disks made by the real tools (no mounting), for `regnet extract VM` and
# `regnet map` by production network name. See testdata/README.md.
#   esxi/app-srv-07.vmx       ESXi VM whose disk is the snapshot chain of build-esxi.sh (top layer
#                             chain-000002.vmdk: Ethernet0 10.41.7.220), a CD-ROM, a data disk with no
#                             Windows, and NICs on Prod-VLAN10 / Backup-VLAN20 with the guest's MACs
#   esxi/app-srv-07-one-nic.vmx  the same VM after its backup NIC was removed: the guest's Backup
#                             adapter is a ghost
#   libvirt/web-srv-08.xml    a KVM guest (libvirt domain XML, absolute disk path inside the folder),
#                             a second Windows (WEB-SRV-08: 10.41.7.30/24 on Prod-VLAN10 and DHCP
#                             192.168.50.24/24 on Backup-VLAN20), in qcow2
#   ova/app-srv-07.ova        an OVA (ustar: .ovf, .mf, streamOptimized disks) of the example guest
#   hostile/                  configuration files naming /etc/shadow, ../ paths, an entity bomb
# Needs build-esxi.sh's output and: qemu-img, sfdisk, mkntfs + ntfscp, wimlib-imagex, hivexregedit, tar.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/testdata/vms
rm -rf "$out"
for t in qemu-img sfdisk mkntfs ntfscp wimlib-imagex hivexregedit tar; do
  command -v "$t" >/dev/null 2>&1 || { echo "build-vms.sh: $t not found; VM fixtures skipped" >&2; exit 0; }
done
[ -f target/testdata/esxi/chain-000002.vmdk ] || { echo "build-vms.sh: no ESXi chain (build-esxi.sh); VM fixtures skipped" >&2; exit 0; }
mkdir -p "$out/esxi" "$out/libvirt" "$out/ova" "$out/hostile" "$out/work"
w=$out/work
MiB=$((1024 * 1024))
cfg=/Windows/System32/config

# --- ESXi: the replica's restore points (the chain) named by its .vmx -------------------------------
for f in target/testdata/esxi/*.vmdk; do cp --sparse=always "$f" "$out/esxi/"; done
# A data disk without Windows: a GPT disk with an empty NTFS volume, as a hosted sparse VMDK.
truncate -s $((16 * MiB)) "$w/data.raw"
sfdisk -q "$w/data.raw" <<'L'
label: gpt
start=2048, size=28672, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Data"
L
truncate -s $((28672 * 512)) "$w/data.ntfs"
mkntfs -q -F -Q -p 2048 -L Data "$w/data.ntfs" >/dev/null 2>&1
dd if="$w/data.ntfs" of="$w/data.raw" bs=1M oflag=seek_bytes seek=$((2048 * 512)) conv=notrunc,sparse status=none
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse "$w/data.raw" "$out/esxi/app-srv-07_1.vmdk"

vmx() { # vmx NAME WITH_BACKUP_NIC
  cat <<EOF
.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
nvram = "$1.nvram"
pciBridge0.present = "TRUE"
svga.present = "TRUE"
vmci0.present = "TRUE"
hpet0.present = "TRUE"
floppy0.present = "FALSE"
numvcpus = "2"
memSize = "4096"
firmware = "efi"
powerType.powerOff = "soft"
powerType.suspend = "hard"
powerType.reset = "soft"
scsi0.virtualDev = "lsisas1068"
scsi0.present = "TRUE"
sata0.present = "TRUE"
scsi0:0.deviceType = "scsi-hardDisk"
scsi0:0.fileName = "chain-000002.vmdk"
sched.scsi0:0.shares = "normal"
sched.scsi0:0.throughputCap = "off"
scsi0:0.present = "TRUE"
scsi0:1.deviceType = "scsi-hardDisk"
scsi0:1.fileName = "app-srv-07_1.vmdk"
scsi0:1.present = "TRUE"
sata0:0.deviceType = "cdrom-image"
sata0:0.fileName = "/vmfs/volumes/5f8a1c2e-7d0e3b10-1a2b-005056a1b2c3/iso/SERVER_EVAL_x64FRE_en-us.iso"
sata0:0.present = "TRUE"
# Replicated by the DR appliance; restore points are the VM's snapshots.
ethernet0.virtualDev = "vmxnet3"
ethernet0.networkName = "Prod-VLAN10"
ethernet0.addressType = "vpx"
ethernet0.generatedAddress = "00:50:56:9a:3c:1f"
ethernet0.uptCompatibility = "TRUE"
ethernet0.present = "TRUE"
EOF
  if [ "$2" = yes ]; then cat <<'EOF'
ethernet1.virtualDev = "vmxnet3"
ethernet1.networkName = "Backup-VLAN20"
ethernet1.addressType = "vpx"
ethernet1.generatedAddress = "00:50:56:9a:3c:20"
ethernet1.present = "TRUE"
EOF
  else cat <<'EOF'
ethernet1.virtualDev = "vmxnet3"
ethernet1.networkName = "Backup-VLAN20"
ethernet1.addressType = "vpx"
ethernet1.generatedAddress = "00:50:56:9a:3c:20"
ethernet1.present = "FALSE"
EOF
  fi
  cat <<EOF
displayName = "$1"
guestOS = "windows2019srv-64"
toolScripts.afterPowerOn = "TRUE"
uuid.bios = "42 1a 6b 7c 8d 9e 0f 10-21 32 43 54 65 76 87 98"
vc.uuid = "50 1a 2b 3c 4d 5e 6f 70-81 92 a3 b4 c5 d6 e7 f8"
migrate.hostLog = "./$1-7b3c2f1e.hlog"
sched.swap.derivedName = "/vmfs/volumes/5f8a1c2e-7d0e3b10-1a2b-005056a1b2c3/$1/$1-7b3c2f1e.vswp"
scsi0:0.redo = ""
EOF
}
vmx app-srv-07 yes > "$out/esxi/app-srv-07.vmx"
vmx app-srv-07 no > "$out/esxi/app-srv-07-one-nic.vmx"

# --- A second Windows guest, WEB-SRV-08, for mapping two VMs by network name -----------------------
# The example's replayed state as a clean hive (build.sh's writer output, else made now).
after=target/testdata/writer/after/SYSTEM
if [ ! -f "$after" ]; then
  cargo run --quiet --locked -p regnet-testkit --bin regnet-fixtures -- all "$w/writer" >/dev/null
  after=$w/writer/after/SYSTEM
fi
cp "$after" "$w/SYSTEM" && chmod u+w "$w/SYSTEM"
multi_sz() { python3 -c 'import sys; s="".join(x+"\0" for x in sys.argv[1:])+"\0"; print(",".join("%02x" % c for c in s.encode("utf-16-le")))' "$@"; }
sz() { python3 -c 'import sys; s=sys.argv[1]+"\0"; print(",".join("%02x" % c for c in s.encode("utf-16-le")))' "$1"; }
nsi_name() { printf '00000001000006000a2907%02x00000000' "$1"; }
nsi_record=ff,ff,ff,ff,ff,ff,ff,ff,01,00,00,00,01,00,00,00,18,00,00,00$(printf ',ff%.0s' $(seq 28))
prod='{5C7A3E21-8F4B-4D2A-9E61-0B3F2A7C9D14}' backup='{A1B2C3D4-1111-4E22-8F33-445566778899}'
cat > "$w/web.reg" <<EOF
Windows Registry Editor Version 5.00

[\ControlSet001\Services\Tcpip\Parameters]
"Hostname"=hex(1):$(sz WEB-SRV-08)
"NV Hostname"=hex(1):$(sz WEB-SRV-08)

[\ControlSet001\Control\ComputerName\ComputerName]
"ComputerName"=hex(1):$(sz WEB-SRV-08)

[\ControlSet001\Services\Tcpip\Parameters\Interfaces\\$prod]
"IPAddress"=hex(7):$(multi_sz 10.41.7.30)
"SubnetMask"=hex(7):$(multi_sz 255.255.255.0)

[\ControlSet001\Services\Tcpip\Parameters\Interfaces\\$backup]
"DhcpIPAddress"=hex(1):$(sz 192.168.50.24)

[\ControlSet001\Control\Nsi\{eb004a00-9b1a-11d4-9123-0050047759bc}\10]
"$(nsi_name 20)"=-
"$(nsi_name 21)"=-
"$(nsi_name 30)"=hex:$nsi_record

[\ControlSet001\Control\NetworkSetup2\Interfaces\\$prod\Kernel]
"CurrentAddress"=hex:00,50,56,9a,4d,01
"PermanentAddress"=hex:00,50,56,9a,4d,01

[\ControlSet001\Control\NetworkSetup2\Interfaces\\$backup\Kernel]
"CurrentAddress"=hex:00,50,56,9a,4d,02
"PermanentAddress"=hex:00,50,56,9a,4d,02
EOF
hivexregedit --merge "$w/SYSTEM" "$w/web.reg"
mkdir -p "$w/stage$cfg"
cp "$w/SYSTEM" "$w/stage$cfg/SYSTEM"
wimlib-imagex capture "$w/stage" "$w/web.wim" --compress=none --no-acls >/dev/null
truncate -s $((32 * MiB)) "$w/web.raw"
sfdisk -q "$w/web.raw" <<'L'
label: gpt
start=2048, size=61440, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="Basic data partition"
L
truncate -s $((61440 * 512)) "$w/web.ntfs"
mkntfs -q -F -Q -p 2048 -L Windows "$w/web.ntfs" >/dev/null 2>&1
wimlib-imagex apply "$w/web.wim" 1 "$w/web.ntfs" >/dev/null
dd if="$w/web.ntfs" of="$w/web.raw" bs=1M oflag=seek_bytes seek=$((2048 * 512)) conv=notrunc,sparse status=none
qemu-img convert -f raw -O qcow2 "$w/web.raw" "$out/libvirt/web-srv-08.qcow2"
images=$(cd "$out/libvirt" && pwd)
cat > "$out/libvirt/web-srv-08.xml" <<EOF
<domain type='kvm'>
  <name>web-srv-08</name>
  <uuid>7c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://microsoft.com/win/2k22"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>4194304</memory>
  <currentMemory unit='KiB'>4194304</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='$images/web-srv-08.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/virtio-win-0.1.240.iso'/>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:aa:4d:99'/>
      <source network='Prod-VLAN10'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='00:50:56:9a:4d:01'/>
      <source bridge='Prod-VLAN10'/>
      <vlan>
        <tag id='10'/>
      </vlan>
      <model type='e1000e'/>
    </interface>
    <interface type='bridge'>
      <mac address='00:50:56:9a:4d:02'/>
      <source bridge='Backup-VLAN20'/>
      <vlan>
        <tag id='20'/>
      </vlan>
      <model type='e1000e'/>
    </interface>
  </devices>
</domain>
EOF

# --- OVA: the example guest exported by ovftool (streamOptimized disks) -----------------------------
qemu-img convert -f qcow2 -O vmdk -o subformat=streamOptimized testdata/example/disk.qcow2 "$w/app-srv-07-disk1.vmdk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$w/data.raw" "$w/app-srv-07-disk2.vmdk"
s1=$(stat -c %s "$w/app-srv-07-disk1.vmdk") s2=$(stat -c %s "$w/app-srv-07-disk2.vmdk")
sed -e "s/web01-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"[0-9]*\"/app-srv-07-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"$s1\"/" \
    -e "s/web01-disk2.vmdk\" ovf:id=\"file2\" ovf:size=\"[0-9]*\"/app-srv-07-disk2.vmdk\" ovf:id=\"file2\" ovf:size=\"$s2\"/" \
    -e 's/web01-file1.nvram/app-srv-07-file1.nvram/' \
    -e 's/>web01</>app-srv-07</g' -e 's/ovf:id="web01"/ovf:id="app-srv-07"/' \
    testdata/vm/web01.ovf > "$w/app-srv-07.ovf"
head -c 512 /dev/zero > "$w/app-srv-07-file1.nvram"
(cd "$w" && for f in app-srv-07.ovf app-srv-07-disk1.vmdk app-srv-07-disk2.vmdk app-srv-07-file1.nvram; do
  echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done > app-srv-07.mf)
tar --format=ustar --owner=0 --group=0 --numeric-owner --mode=0644 -C "$w" -cf "$out/ova/app-srv-07.ova" \
  app-srv-07.ovf app-srv-07.mf app-srv-07-disk1.vmdk app-srv-07-disk2.vmdk app-srv-07-file1.nvram
# The same descriptor unpacked, beside its disks, as an .ovf input.
cp "$w/app-srv-07.ovf" "$w/app-srv-07-disk1.vmdk" "$w/app-srv-07-disk2.vmdk" "$out/ova/"

# --- Hostile configuration files ---------------------------------------------------------------
h=$out/hostile
cp testdata/example/disk.qcow2 "$h/disk.qcow2"
printf 'displayName = "shadow"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "/etc/shadow"\nscsi0:1.present = "TRUE"\nscsi0:1.fileName = "../../../../etc/passwd"\nethernet0.present = "TRUE"\nethernet0.networkName = "Prod"\nethernet0.addressType = "static"\nethernet0.address = "00:50:56:9a:3c:1f"\n' > "$h/shadow.vmx"
printf 'displayName = "shadow-and-disk"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "/etc/shadow"\nscsi0:1.present = "TRUE"\nscsi0:1.fileName = "disk.qcow2"\n' > "$h/shadow-and-disk.vmx"
cat > "$h/bomb.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE domain [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
  <!ENTITY shadow SYSTEM "file:///etc/shadow">
]>
<domain type='kvm'><name>&g;</name><devices><disk type='file' device='disk'><source file='&shadow;'/><target dev='vda'/></disk></devices></domain>
EOF
python3 - "$h/many-nics.vmx" <<'P'
import sys
with open(sys.argv[1], 'w') as f:
    f.write('displayName = "many"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "disk.qcow2"\n')
    for i in range(10000):
        f.write(f'ethernet{i}.present = "TRUE"\nethernet{i}.networkName = "net{i}"\nethernet{i}.addressType = "static"\nethernet{i}.address = "00:50:56:{i >> 8 & 255:02x}:{i & 255:02x}:01"\n')
P
rm -rf "$w"
echo "build-vms.sh: VM fixtures in $out ($(du -sh "$out" | cut -f1) on disk)" >&2
