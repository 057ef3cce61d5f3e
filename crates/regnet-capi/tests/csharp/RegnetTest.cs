// The C# (Mono) proof of libregnet: P/Invoke through examples/csharp/Regnet.cs (a SafeHandle for the
// error, a Cdecl delegate for the read-at callback), compared with the regnet command's output, and
// every report checked against the report's JSON Schema.
//
// Usage: mono RegnetTest.exe EXAMPLE_DIR CLI_DIR SCHEMA|- [LINUX_IMAGE]
//   CLI_DIR holds what `regnet` printed: disk.json (extract disk.qcow2), hive.json (hive SYSTEM),
//   map.json (map --plan plan.json disk.json) and, with LINUX_IMAGE, linux.json (extract LINUX_IMAGE).
//   SCHEMA is the report's JSON Schema file, or - when there is none (that part then says it skipped).
// Ends with "csharp: N passed, M failed"; exit code 1 when a check failed.
using System;
using System.Collections.Generic;
using System.IO;
using System.Json;
using System.Reflection;
using System.Runtime.InteropServices;
using RegnetInterop;

namespace RegnetInterop.Tests
{
    static class RegnetTest
    {
        static int passed, failed;

        static void Check(bool ok, string what, string detail = null)
        {
            if (ok)
            {
                passed++;
                Console.WriteLine("ok   " + what);
            }
            else
            {
                failed++;
                Console.WriteLine("FAIL " + what + (detail != null ? ": " + detail : ""));
            }
        }

        /// <summary>The exception thrown by f, or null.</summary>
        static RegnetException Throws(Func<string> f)
        {
            try
            {
                f();
                return null;
            }
            catch (RegnetException e)
            {
                return e;
            }
        }

        static void CheckError(RegnetException e, int code, string kind, string part, string what)
        {
            Check(e != null && e.Code == code && e.Kind == kind && e.Message.Contains(part), what,
                  e == null ? "no error" : e.Code + " " + e.Kind + ": " + e.Message);
            if (e != null) Console.WriteLine("       " + e.Kind + ": " + e.Message);
        }

        /// <summary>Equal JSON. For a stream: but source.image, the name the test gives it (the stream
        /// is read as the file is, so the byte counts are the same).</summary>
        static void CheckSame(string got, string want, string what, bool stream)
        {
            var g = JsonValue.Parse(got);
            var w = JsonValue.Parse(want);
            if (stream)
            {
                g["source"]["image"] = w["source"]["image"];
            }
            string diff = JsonSchemaValidator.FirstDifference(g, w, "$");
            Check(diff == null, what, diff);
        }

        /// <summary>A stream whose reads fail after a number of them, as a broken store's would.</summary>
        class FailingStream : FileStream
        {
            int left;

            public FailingStream(string path, int reads) : base(path, FileMode.Open, FileAccess.Read)
            {
                left = reads;
            }

            public override int Read(byte[] array, int offset, int count)
            {
                if (left-- <= 0) throw new IOException("the store went away");
                return base.Read(array, offset, count);
            }
        }

        static int Main(string[] args)
        {
            if (args.Length < 3)
            {
                Console.Error.WriteLine("usage: mono RegnetTest.exe EXAMPLE_DIR CLI_DIR SCHEMA|- [LINUX_IMAGE]");
                return 2;
            }
            string dir = args[0], cli = args[1], schemaPath = args[2];
            string linux = args.Length > 3 ? args[3] : null;
            string disk = Path.Combine(dir, "disk.qcow2");

            Console.WriteLine("libregnet " + Regnet.Version + ", ABI " + Regnet.AbiVersion + ", Mono " +
                              Type.GetType("Mono.Runtime").GetMethod("GetDisplayName", BindingFlags.NonPublic | BindingFlags.Static).Invoke(null, null));
            Console.WriteLine("Marshal.PtrToStringUTF8 " +
                              (typeof(Marshal).GetMethod("PtrToStringUTF8", new[] { typeof(IntPtr) }) != null
                                   ? "exists here" : "does not exist here") + " (Regnet.FromUtf8 is used either way)");
            Check(Regnet.AbiVersion == 1 && !string.IsNullOrEmpty(Regnet.Version), "versions");

            var reports = new List<KeyValuePair<string, string>>();

            string byPath = Regnet.ExtractPath(disk);
            CheckSame(byPath, File.ReadAllText(Path.Combine(cli, "disk.json")), "path: disk.qcow2 as the CLI", false);
            reports.Add(new KeyValuePair<string, string>("path disk.qcow2", byPath));

            string byStream;
            using (var f = File.OpenRead(disk)) byStream = Regnet.ExtractStream(f, "csharp:disk.qcow2");
            CheckSame(byStream, File.ReadAllText(Path.Combine(cli, "disk.json")),
                      "delegate over a FileStream: disk.qcow2 as the CLI (but source.image)", true);
            Check((string)JsonValue.Parse(byStream)["source"]["image"] == "csharp:disk.qcow2", "the stream's name is source.image");
            reports.Add(new KeyValuePair<string, string>("stream disk.qcow2", byStream));

            if (linux != null)
            {
                string l;
                using (var f = File.OpenRead(linux)) l = Regnet.ExtractStream(f, linux);
                CheckSame(l, File.ReadAllText(Path.Combine(cli, "linux.json")),
                          "delegate over a FileStream: " + Path.GetFileName(linux) + " as the CLI", true);
                reports.Add(new KeyValuePair<string, string>("stream " + Path.GetFileName(linux), l));
            }
            else
            {
                Console.WriteLine("skipped: no Linux image (target/testdata is built by testdata/build.sh)");
            }

            // The error paths: a delegate that fails, a stream that throws, a missing file, bad options.
            int calls = 0;
            ReadAtFn failing = (IntPtr user, ulong offset, IntPtr buf, UIntPtr len, out UIntPtr outRead) =>
            {
                outRead = UIntPtr.Zero;
                return ++calls > 3 ? 61 : Fill(disk, offset, buf, len, out outRead);
            };
            CheckError(Throws(() => Regnet.ExtractReadAt(failing, (ulong)new FileInfo(disk).Length, "failing")), 13,
                       "callback", "error code 61", "a delegate failing midway: REGNET_CALLBACK");
            using (var f = new FailingStream(disk, 5))
                CheckError(Throws(() => Regnet.ExtractStream(f, "broken")), 13, "callback", "error code 5",
                           "a stream throwing in the delegate: REGNET_CALLBACK");
            CheckError(Throws(() => Regnet.ExtractPath("/nonexistent/regnet.vmdk")), 2, "io", "/nonexistent/regnet.vmdk",
                       "a missing file: REGNET_IO");
            CheckError(Throws(() => Regnet.ExtractPath(disk, "{\"limits\": {\"max_nothing\": 1}}")), 1, "invalid_argument",
                       "max_nothing", "an unknown limit: REGNET_INVALID_ARGUMENT");
            CheckError(Throws(() => Regnet.ExtractPath(disk, "{\"limits\": {\"max_bytes_read\": 65536}}")), 3,
                       "limit_exceeded", "max_bytes_read", "a limit that trips: REGNET_LIMIT_EXCEEDED");

            // The hive and map entry points.
            string hive = Regnet.ReportFromHive(File.ReadAllBytes(Path.Combine(dir, "SYSTEM")),
                new[] { File.ReadAllBytes(Path.Combine(dir, "SYSTEM.LOG1")), File.ReadAllBytes(Path.Combine(dir, "SYSTEM.LOG2")) });
            CheckSame(hive, File.ReadAllText(Path.Combine(cli, "hive.json")), "hive bytes and logs as `regnet hive`", false);
            reports.Add(new KeyValuePair<string, string>("hive SYSTEM", hive));
            string mapping = Regnet.Map("[" + byPath + "]", File.ReadAllText(Path.Combine(dir, "plan.json")));
            CheckSame(mapping, File.ReadAllText(Path.Combine(cli, "map.json")), "map as `regnet map`", false);
            CheckError(Throws(() => Regnet.Map("[" + byPath + "]", "{\"networks\": [{\"name\": \"one\"}]}")), 12, "map",
                       "mapping table", "a refused mapping: REGNET_MAP");

            // The JSON Schema of the report.
            if (schemaPath == "-")
            {
                Console.WriteLine("skipped: no report JSON Schema given (docs/schema/report.schema.json absent and " +
                                  "`regnet schema report` unavailable)");
            }
            else
            {
                var validator = new JsonSchemaValidator((JsonObject)JsonValue.Parse(File.ReadAllText(schemaPath)));
                foreach (var r in reports)
                {
                    var errors = validator.Validate(JsonValue.Parse(r.Value));
                    Check(errors.Count == 0, "schema: " + r.Key + " is valid", string.Join("; ", errors));
                }
                // The validator can fail: broken copies of a valid report are refused.
                var broken = new List<KeyValuePair<string, Action<JsonValue>>> {
                    Mutation("schema_version a string", j => j["schema_version"] = "1"),
                    Mutation("adapters missing", j => ((JsonObject)j).Remove("adapters")),
                    Mutation("an IPv4 address out of range", j => j["adapters"][0]["ipv4"][0]["address"] = "10.41.7.256"),
                    Mutation("an IPv6 DNS server that is no address", j => j["adapters"][0]["ipv6_dns_servers"][0] = "10.0.0.1x"),
                    Mutation("dns_source not one of its values", j => j["adapters"][0]["dns_source"] = "pigeon"),
                    Mutation("a negative prefix length", j => j["adapters"][0]["ipv4"][0]["prefix_len"] = -1),
                    Mutation("a warning without its code", j => ((JsonArray)j["warnings"]).Add(new JsonObject())),
                };
                foreach (var m in broken)
                {
                    var doc = JsonValue.Parse(byPath);
                    m.Value(doc);
                    var errors = validator.Validate(doc);
                    Check(errors.Count > 0, "schema: refuses " + m.Key, "accepted");
                    if (errors.Count > 0) Console.WriteLine("       " + errors[0]);
                }
            }

            Console.WriteLine("csharp: " + passed + " passed, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        static KeyValuePair<string, Action<JsonValue>> Mutation(string what, Action<JsonValue> f)
        {
            return new KeyValuePair<string, Action<JsonValue>>(what, f);
        }

        /// <summary>A read-at of the file at path (opened per call: this delegate is only for the error test).</summary>
        static int Fill(string path, ulong offset, IntPtr buf, UIntPtr len, out UIntPtr outRead)
        {
            using (var f = File.OpenRead(path))
            {
                var b = new byte[(int)Math.Min((ulong)len, 1 << 20)];
                f.Seek((long)offset, SeekOrigin.Begin);
                int n = f.Read(b, 0, b.Length);
                Marshal.Copy(b, 0, buf, n);
                outRead = (UIntPtr)n;
                return 0;
            }
        }
    }
}
