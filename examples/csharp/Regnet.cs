// Regnet.cs: C# bindings of libregnet (the C ABI of regnet, include/regnet.h), for Mono or .NET.
// Copy this file into a project; libregnet.so must be where the loader finds it (LD_LIBRARY_PATH,
// or a <dllmap dll="regnet" target="/path/to/libregnet.so.0"/> in the program's .exe.config on Mono).
//
//   string json = Regnet.ExtractPath("disk.vmdk");                      // by path
//   using (var f = File.OpenRead("disk.vmdk"))
//       json = Regnet.ExtractStream(f, "disk.vmdk");                     // through a read-at callback
//
// Failures throw RegnetException, whose Code is the regnet_status and Kind its name ("io", ...).
using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace RegnetInterop
{
    /// <summary>A regnet_error*, freed with regnet_error_free when released.</summary>
    public sealed class RegnetErrorHandle : SafeHandle
    {
        public RegnetErrorHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            Native.regnet_error_free(handle);
            return true;
        }
    }

    /// <summary>regnet_read_at_fn: returns 0 and the bytes read in outRead, or non-zero on error.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int ReadAtFn(IntPtr user, ulong offset, IntPtr buf, UIntPtr len, out UIntPtr outRead);

    /// <summary>The functions of include/regnet.h. Strings go in as NUL-terminated UTF-8 byte arrays.</summary>
    public static class Native
    {
        const string Lib = "regnet";

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr regnet_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern uint regnet_abi_version();

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int regnet_error_code(RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr regnet_error_message(RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr regnet_error_kind(RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void regnet_error_free(IntPtr err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern void regnet_string_free(IntPtr s);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int regnet_extract_path(byte[] path, byte[] optionsJson, out IntPtr reportJson,
                                                     out RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int regnet_extract_read_at(ReadAtFn readAt, IntPtr user, ulong size, byte[] name,
                                                        byte[] optionsJson, out IntPtr reportJson,
                                                        out RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int regnet_report_from_hive(byte[] hive, UIntPtr hiveLen, IntPtr[] logs,
                                                         UIntPtr[] logLens, UIntPtr nLogs, byte[] optionsJson,
                                                         out IntPtr reportJson, out RegnetErrorHandle err);

        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
        public static extern int regnet_map(byte[] vmsJson, byte[] planJson, byte[] tableJson, byte[] optionsJson,
                                            out IntPtr mappingJson, out RegnetErrorHandle err);
    }

    /// <summary>A failed call: the regnet_status, its kind's name and the message.</summary>
    public class RegnetException : Exception
    {
        public int Code { get; private set; }
        public string Kind { get; private set; }

        public RegnetException(int code, string kind, string message) : base(message)
        {
            Code = code;
            Kind = kind;
        }
    }

    public static class Regnet
    {
        /// <summary>NUL-terminated UTF-8, or null for NULL.</summary>
        public static byte[] Utf8z(string s)
        {
            return s == null ? null : Encoding.UTF8.GetBytes(s + "\0");
        }

        /// <summary>The UTF-8 string at p (Marshal.PtrToStringUTF8 is not in every Mono profile).</summary>
        public static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return null;
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var bytes = new byte[n];
            Marshal.Copy(p, bytes, 0, n);
            return Encoding.UTF8.GetString(bytes);
        }

        public static string Version { get { return FromUtf8(Native.regnet_version()); } }

        public static uint AbiVersion { get { return Native.regnet_abi_version(); } }

        /// <summary>Takes the JSON a call returned (freeing it), or throws its error (freeing that too).</summary>
        static string Finish(int status, IntPtr json, RegnetErrorHandle err)
        {
            using (err)
            {
                if (status == 0)
                {
                    try { return FromUtf8(json); }
                    finally { Native.regnet_string_free(json); }
                }
                if (err.IsInvalid) throw new RegnetException(status, "unknown", "regnet status " + status);
                throw new RegnetException(Native.regnet_error_code(err), FromUtf8(Native.regnet_error_kind(err)),
                                          FromUtf8(Native.regnet_error_message(err)));
            }
        }

        /// <summary>The report (JSON) of the image, VM configuration file or guest folder at path.</summary>
        public static string ExtractPath(string path, string optionsJson = null)
        {
            IntPtr json;
            RegnetErrorHandle err;
            int st = Native.regnet_extract_path(Utf8z(path), Utf8z(optionsJson), out json, out err);
            return Finish(st, json, err);
        }

        /// <summary>The report (JSON) of the disk image in a seekable stream, read through a read-at
        /// callback; name is what the report's source.image says.</summary>
        public static string ExtractStream(Stream stream, string name, string optionsJson = null)
        {
            var buffer = new byte[1 << 20];
            ReadAtFn readAt = (IntPtr user, ulong offset, IntPtr buf, UIntPtr len, out UIntPtr outRead) =>
            {
                outRead = UIntPtr.Zero;
                // No exception may cross into native code: an error becomes a non-zero code.
                try
                {
                    int want = (int)Math.Min((ulong)len, (ulong)buffer.Length);
                    stream.Seek((long)offset, SeekOrigin.Begin);
                    int n = stream.Read(buffer, 0, want); // a short read is fine: regnet asks again
                    Marshal.Copy(buffer, 0, buf, n);
                    outRead = (UIntPtr)n;
                    return 0;
                }
                catch (Exception)
                {
                    return 5; // EIO
                }
            };
            return ExtractReadAt(readAt, (ulong)stream.Length, name, optionsJson);
        }

        /// <summary>The report (JSON) of a disk image of size bytes read by readAt.</summary>
        public static string ExtractReadAt(ReadAtFn readAt, ulong size, string name, string optionsJson = null)
        {
            IntPtr json;
            RegnetErrorHandle err;
            int st = Native.regnet_extract_read_at(readAt, IntPtr.Zero, size, Utf8z(name), Utf8z(optionsJson),
                                                   out json, out err);
            GC.KeepAlive(readAt); // the delegate must outlive the call that uses it
            return Finish(st, json, err);
        }

        /// <summary>The report (JSON) of a SYSTEM hive's bytes, replaying the logs given (LOG1, LOG2).</summary>
        public static string ReportFromHive(byte[] hive, byte[][] logs, string optionsJson = null)
        {
            logs = logs ?? new byte[0][];
            var pins = new GCHandle[logs.Length];
            var ptrs = new IntPtr[logs.Length];
            var lens = new UIntPtr[logs.Length];
            try
            {
                for (int i = 0; i < logs.Length; i++)
                {
                    pins[i] = GCHandle.Alloc(logs[i], GCHandleType.Pinned);
                    ptrs[i] = pins[i].AddrOfPinnedObject();
                    lens[i] = (UIntPtr)logs[i].Length;
                }
                IntPtr json;
                RegnetErrorHandle err;
                int st = Native.regnet_report_from_hive(hive, (UIntPtr)hive.Length, ptrs, lens, (UIntPtr)logs.Length,
                                                        Utf8z(optionsJson), out json, out err);
                return Finish(st, json, err);
            }
            finally
            {
                foreach (var p in pins) if (p.IsAllocated) p.Free();
            }
        }

        /// <summary>The mapping (JSON) of VMs (a JSON array of reports, batch lines or VM files) onto a plan.</summary>
        public static string Map(string vmsJson, string planJson, string tableJson = null, string optionsJson = null)
        {
            IntPtr json;
            RegnetErrorHandle err;
            int st = Native.regnet_map(Utf8z(vmsJson), Utf8z(planJson), Utf8z(tableJson), Utf8z(optionsJson),
                                       out json, out err);
            return Finish(st, json, err);
        }
    }
}
