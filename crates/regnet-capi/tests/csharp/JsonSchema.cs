// A small JSON Schema (draft 2020-12) validator for the subset schemars emits for regnet's report:
// type (a name or a list, with "integer"), properties, required, additionalProperties, items,
// enum, const, $ref to "#/$defs/NAME", oneOf, anyOf, allOf, minimum, maximum, and the formats
// ipv4, ipv6 and uintN/intN (schemars' integer widths). A keyword outside this subset is an error
// of the validator (never silently passed over); annotations ($schema, title, description, default,
// examples, $comment, deprecated, readOnly, writeOnly) are ignored.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Json;
using System.Linq;
using System.Net;
using System.Net.Sockets;

namespace RegnetInterop.Tests
{
    public class JsonSchemaValidator
    {
        static readonly HashSet<string> Annotations = new HashSet<string> {
            "$schema", "title", "description", "default", "examples", "$comment", "deprecated", "readOnly",
            "writeOnly", "$defs", "$id"
        };

        readonly JsonObject root;

        public JsonSchemaValidator(JsonObject schema)
        {
            root = schema;
        }

        /// <summary>Every violation of the schema by doc, as "PATH: what" lines (none: valid).</summary>
        public List<string> Validate(JsonValue doc)
        {
            var errors = new List<string>();
            Check(root, doc, "$", errors, 0);
            return errors;
        }

        public static bool JsonEquals(JsonValue a, JsonValue b)
        {
            return FirstDifference(a, b, "$") == null;
        }

        /// <summary>Where a and b first differ (a path and both values), or null when equal.</summary>
        public static string FirstDifference(JsonValue a, JsonValue b, string path)
        {
            if (a == null || b == null)
                return (a == null && b == null) ? null : path + ": " + Show(a) + " vs " + Show(b);
            if (a.JsonType != b.JsonType) return path + ": " + Show(a) + " vs " + Show(b);
            switch (a.JsonType)
            {
                case JsonType.Object:
                    {
                        var oa = (JsonObject)a;
                        var ob = (JsonObject)b;
                        foreach (var k in oa.Keys.Union(ob.Keys).OrderBy(k => k, StringComparer.Ordinal))
                        {
                            if (!oa.ContainsKey(k) || !ob.ContainsKey(k))
                                return path + "." + k + ": present on one side only";
                            var d = FirstDifference(oa[k], ob[k], path + "." + k);
                            if (d != null) return d;
                        }
                        return null;
                    }
                case JsonType.Array:
                    {
                        var aa = (JsonArray)a;
                        var ab = (JsonArray)b;
                        if (aa.Count != ab.Count) return path + ": " + aa.Count + " vs " + ab.Count + " elements";
                        for (int i = 0; i < aa.Count; i++)
                        {
                            var d = FirstDifference(aa[i], ab[i], path + "[" + i + "]");
                            if (d != null) return d;
                        }
                        return null;
                    }
                case JsonType.Number:
                    return Number(a) == Number(b) ? null : path + ": " + Show(a) + " vs " + Show(b);
                default:
                    return a.ToString() == b.ToString() ? null : path + ": " + Show(a) + " vs " + Show(b);
            }
        }

        /// <summary>The JSON text of v. (Concatenating a JsonValue to a string would use System.Json's
        /// implicit conversion to string, which throws for anything but a JSON string.)</summary>
        static string Show(JsonValue v)
        {
            return v == null ? "null" : v.ToString();
        }

        static decimal Number(JsonValue v)
        {
            return decimal.Parse(v.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        static bool IsInteger(JsonValue v)
        {
            return v != null && v.JsonType == JsonType.Number && decimal.Truncate(Number(v)) == Number(v);
        }

        static string TypeName(JsonValue v)
        {
            if (v == null) return "null";
            switch (v.JsonType)
            {
                case JsonType.Object: return "object";
                case JsonType.Array: return "array";
                case JsonType.String: return "string";
                case JsonType.Boolean: return "boolean";
                default: return "number";
            }
        }

        static bool HasType(JsonValue v, string type)
        {
            if (type == "integer") return IsInteger(v);
            return TypeName(v) == type;
        }

        void Check(JsonValue schemaValue, JsonValue v, string path, List<string> errors, int depth)
        {
            if (depth > 64)
            {
                errors.Add(path + ": schema nesting deeper than 64 (a $ref cycle?)");
                return;
            }
            if (schemaValue != null && schemaValue.JsonType == JsonType.Boolean)
            {
                if (!(bool)schemaValue) errors.Add(path + ": not allowed (schema false)");
                return;
            }
            var s = schemaValue as JsonObject;
            if (s == null)
            {
                errors.Add(path + ": the schema here is not an object");
                return;
            }
            foreach (var kv in s)
            {
                string k = kv.Key;
                JsonValue arg = kv.Value;
                if (Annotations.Contains(k)) continue;
                switch (k)
                {
                    case "type":
                        {
                            var types = arg.JsonType == JsonType.Array
                                ? ((JsonArray)arg).Select(t => (string)t).ToList()
                                : new List<string> { (string)arg };
                            if (!types.Any(t => HasType(v, t)))
                                errors.Add(path + ": " + TypeName(v) + " is not " + string.Join(" or ", types));
                            break;
                        }
                    case "properties":
                        if (v != null && v.JsonType == JsonType.Object)
                            foreach (var p in (JsonObject)arg)
                                if (((JsonObject)v).ContainsKey(p.Key))
                                    Check(p.Value, v[p.Key], path + "." + p.Key, errors, depth + 1);
                        break;
                    case "required":
                        if (v != null && v.JsonType == JsonType.Object)
                            foreach (JsonValue r in (JsonArray)arg)
                                if (!((JsonObject)v).ContainsKey((string)r))
                                    errors.Add(path + ": required property " + (string)r + " is missing");
                        break;
                    case "additionalProperties":
                        if (v != null && v.JsonType == JsonType.Object)
                        {
                            var known = s.ContainsKey("properties") ? (JsonObject)s["properties"] : new JsonObject();
                            foreach (var p in (JsonObject)v)
                                if (!known.ContainsKey(p.Key))
                                    Check(arg, p.Value, path + "." + p.Key, errors, depth + 1);
                        }
                        break;
                    case "items":
                        if (v != null && v.JsonType == JsonType.Array)
                        {
                            var a = (JsonArray)v;
                            for (int i = 0; i < a.Count; i++) Check(arg, a[i], path + "[" + i + "]", errors, depth + 1);
                        }
                        break;
                    case "enum":
                        if (!((JsonArray)arg).Any(e => JsonEquals(e, v)))
                            errors.Add(path + ": " + Show(v) + " is not one of " + Show(arg));
                        break;
                    case "const":
                        if (!JsonEquals(arg, v)) errors.Add(path + ": " + Show(v) + " is not " + Show(arg));
                        break;
                    case "$ref":
                        {
                            string r = (string)arg;
                            const string prefix = "#/$defs/";
                            var defs = root.ContainsKey("$defs") ? (JsonObject)root["$defs"] : null;
                            if (r == "#") Check(root, v, path, errors, depth + 1);
                            else if (r.StartsWith(prefix) && defs != null && defs.ContainsKey(r.Substring(prefix.Length)))
                                Check(defs[r.Substring(prefix.Length)], v, path, errors, depth + 1);
                            else errors.Add(path + ": unresolvable $ref " + r);
                            break;
                        }
                    case "oneOf":
                    case "anyOf":
                    case "allOf":
                        {
                            var branches = (JsonArray)arg;
                            var failures = new List<string>();
                            int ok = 0;
                            foreach (JsonValue b in branches)
                            {
                                var e = new List<string>();
                                Check(b, v, path, e, depth + 1);
                                if (e.Count == 0) ok++;
                                else failures.AddRange(e);
                            }
                            bool good = k == "oneOf" ? ok == 1 : k == "anyOf" ? ok >= 1 : ok == branches.Count;
                            if (!good)
                                errors.Add(path + ": " + k + " matched " + ok + " of " + branches.Count + " (" +
                                           string.Join("; ", failures.Take(3)) + ")");
                            break;
                        }
                    case "minimum":
                        if (v != null && v.JsonType == JsonType.Number && Number(v) < Number(arg))
                            errors.Add(path + ": " + Show(v) + " < minimum " + Show(arg));
                        break;
                    case "maximum":
                        if (v != null && v.JsonType == JsonType.Number && Number(v) > Number(arg))
                            errors.Add(path + ": " + Show(v) + " > maximum " + Show(arg));
                        break;
                    case "format":
                        CheckFormat((string)arg, v, path, errors);
                        break;
                    default:
                        errors.Add(path + ": the validator does not know the keyword " + k);
                        break;
                }
            }
        }

        static void CheckFormat(string format, JsonValue v, string path, List<string> errors)
        {
            if (v == null) return; // formats apply to their own types only
            if (format == "ipv4" || format == "ipv6")
            {
                if (v.JsonType != JsonType.String) return;
                string s = (string)v;
                bool ok = format == "ipv4" ? IsIpv4(s) : IsIpv6(s);
                if (!ok) errors.Add(path + ": \"" + s + "\" is not an " + format + " address");
                return;
            }
            if ((format.StartsWith("uint") || format.StartsWith("int")) && v.JsonType == JsonType.Number)
            {
                bool unsigned = format.StartsWith("u");
                int bits;
                if (!int.TryParse(format.Substring(unsigned ? 4 : 3), out bits) || bits < 8 || bits > 64) return;
                decimal n = Number(v);
                decimal max = unsigned ? (decimal)Math.Pow(2, bits) - 1 : (decimal)Math.Pow(2, bits - 1) - 1;
                decimal min = unsigned ? 0 : -(decimal)Math.Pow(2, bits - 1);
                if (!IsInteger(v) || n < min || n > max) errors.Add(path + ": " + Show(v) + " is not a " + format);
            }
            // Other formats are annotations (draft 2020-12, format-annotation vocabulary).
        }

        static bool IsIpv4(string s)
        {
            var parts = s.Split('.');
            if (parts.Length != 4) return false;
            foreach (var p in parts)
            {
                if (p.Length == 0 || p.Length > 3 || !p.All(c => c >= '0' && c <= '9')) return false;
                if (p.Length > 1 && p[0] == '0') return false;
                if (int.Parse(p, CultureInfo.InvariantCulture) > 255) return false;
            }
            return true;
        }

        static bool IsIpv6(string s)
        {
            IPAddress a;
            return s.Contains(":") && !s.Contains("%") && IPAddress.TryParse(s, out a) &&
                   a.AddressFamily == AddressFamily.InterNetworkV6;
        }
    }
}
