#!/usr/bin/env python3
"""Reads keyfiles with libnm's NM.keyfile_read (python3-gi + gir1.2-nm-1.0) and prints, per file,
what NetworkManager loads: one JSON object per line (path, ok, and when ok: type, interface name,
MAC, methods, addresses with prefixes, gateways, DNS, search, routes). Used by
tests/keyfile_differential.rs."""
import json, os, sys
import gi
gi.require_version("NM", "1.0")
from gi.repository import GLib, NM

def ipcfg(s):
    if s is None:
        return None
    return {
        "method": s.get_method(),
        "addresses": ["%s/%d" % (s.get_address(i).get_address(), s.get_address(i).get_prefix()) for i in range(s.get_num_addresses())],
        "gateway": s.get_gateway() if not s.get_never_default() else None,
        "dns": [s.get_dns(i) for i in range(s.get_num_dns())],
        "search": [s.get_dns_search(i) for i in range(s.get_num_dns_searches())],
        "routes": ["%s/%d,%s,%d" % (r.get_dest(), r.get_prefix(), r.get_next_hop() or "", r.get_metric()) for r in [s.get_route(i) for i in range(s.get_num_routes())]],
    }

def handler(kf, conn, typ, data, user):
    return True

for path in sys.argv[1:]:
    out = {"path": path}
    try:
        kf = GLib.KeyFile()
        kf.load_from_file(path, GLib.KeyFileFlags.NONE)
        base = os.path.dirname(os.path.abspath(path))
        conn = NM.keyfile_read(kf, base, NM.KeyfileHandlerFlags.NONE, handler, None)
        conn.normalize(None)
        c = conn.get_setting_connection()
        e = conn.get_setting_wired()
        out.update(ok=True, type=c.get_connection_type(), iface=c.get_interface_name(),
                   mac=e.get_mac_address() if e else None, ip4=ipcfg(conn.get_setting_ip4_config()),
                   ip6=ipcfg(conn.get_setting_ip6_config()))
    except Exception as ex:
        out.update(ok=False, error=str(ex))
    print(json.dumps(out))
