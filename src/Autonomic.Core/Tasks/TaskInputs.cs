using System.Text.Json;
using System.Text.RegularExpressions;

namespace Autonomic.Core.Tasks;

/// <summary>The task types and what each one does.</summary>
public static class TaskTypes
{
    /// <summary>Fetch an http(s) URL (streamed) or small inline base64 content into an object store.</summary>
    public const string ObjectUpload = "object.upload";
    /// <summary>Copy an object between keys, within one store or between two.</summary>
    public const string ObjectCopy = "object.copy";
    /// <summary>Invoke a deployed function with an event.</summary>
    public const string FunctionInvoke = "function.invoke";
    /// <summary>Run a command once as its own process, with a timeout.</summary>
    public const string Job = "job";

    public static readonly IReadOnlyList<string> All = [ObjectUpload, ObjectCopy, FunctionInvoke, Job];
}

/// <summary>Input of <see cref="TaskTypes.ObjectUpload"/>: exactly one of <see cref="SourceUrl"/> and <see cref="ContentBase64"/>.</summary>
public sealed record UploadInput(string Store, string Key, string? SourceUrl, string? ContentBase64, string? ContentType, string? Sha256);

/// <summary>Input of <see cref="TaskTypes.ObjectCopy"/>.</summary>
public sealed record CopyInput(string FromStore, string FromKey, string ToStore, string ToKey);

/// <summary>Input of <see cref="TaskTypes.FunctionInvoke"/>; <see cref="Version"/> null means the newest.</summary>
public sealed record InvokeInput(string Function, int? Version, JsonElement Event);

/// <summary>Input of <see cref="TaskTypes.Job"/>.</summary>
public sealed record JobInput(string Command, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Env, int TimeoutSeconds);

/// <summary>
/// Validates and reads task inputs. Validation lists every problem at once (unknown type, missing or mistyped fields,
/// unknown fields, bad keys), so the API can answer 422 with all of them.
/// </summary>
public static partial class TaskInputs
{
    /// <summary>The store used when an input names none.</summary>
    public const string DefaultStore = "default";
    /// <summary>Largest inline upload (decoded); larger content goes through the objects API or a URL.</summary>
    public const int MaxInlineBytes = 1024 * 1024;
    public const int MaxTimeoutSeconds = 86_400;
    public const int DefaultTimeoutSeconds = 300;
    public const int MaxAttemptsLimit = 20;

    /// <summary>Every problem with <paramref name="input"/> for <paramref name="type"/>; empty when it is valid.</summary>
    public static IReadOnlyList<string> Validate(string? type, JsonElement? input)
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(type))
        {
            errors.Add($"type is required: one of {string.Join(", ", TaskTypes.All)}");
            return errors;
        }

        if (!TaskTypes.All.Contains(type))
        {
            errors.Add($"unknown task type '{type}': known types are {string.Join(", ", TaskTypes.All)}");
            return errors;
        }

        if (input is not { ValueKind: JsonValueKind.Object } obj)
        {
            errors.Add($"input must be a JSON object for type {type}");
            return errors;
        }

        _ = Read(type, obj, errors);
        return errors;
    }

    public static UploadInput Upload(JsonElement input) => (UploadInput)ReadValid(TaskTypes.ObjectUpload, input);

    public static CopyInput Copy(JsonElement input) => (CopyInput)ReadValid(TaskTypes.ObjectCopy, input);

    public static InvokeInput Invoke(JsonElement input) => (InvokeInput)ReadValid(TaskTypes.FunctionInvoke, input);

    public static JobInput Job(JsonElement input) => (JobInput)ReadValid(TaskTypes.Job, input);

    private static object ReadValid(string type, JsonElement input)
    {
        var errors = new List<string>();
        var value = input.ValueKind == JsonValueKind.Object ? Read(type, input, errors) : null;
        return errors.Count == 0 && value is not null
            ? value
            : throw new ArgumentException($"invalid {type} input: {string.Join("; ", errors.DefaultIfEmpty("not an object"))}", nameof(input));
    }

    private static object? Read(string type, JsonElement obj, List<string> errors)
    {
        var fields = new Fields(obj, errors);
        object? result = type switch
        {
            TaskTypes.ObjectUpload => ReadUpload(fields, errors),
            TaskTypes.ObjectCopy => new CopyInput(
                fields.Store("fromStore"), fields.Key("fromKey"), fields.Store("toStore"), fields.Key("toKey")),
            TaskTypes.FunctionInvoke => ReadInvoke(fields, errors),
            TaskTypes.Job => ReadJob(fields, errors),
            _ => null,
        };
        fields.RejectUnknown();
        return errors.Count == 0 ? result : null;
    }

    private static UploadInput ReadUpload(Fields f, List<string> errors)
    {
        var store = f.Store("store");
        var key = f.Key("key");
        var url = f.String("sourceUrl", required: false);
        var content = f.String("contentBase64", required: false);
        var contentType = f.String("contentType", required: false);
        var sha = f.String("sha256", required: false);
        if ((url is null) == (content is null))
        {
            errors.Add("give exactly one of sourceUrl (an http or https URL to fetch) and contentBase64 (inline content up to 1 MiB)");
        }

        if (url is not null && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"sourceUrl must be an absolute http or https URL, not '{url}'");
        }

        if (content is not null)
        {
            var buffer = new byte[(content.Length * 3 / 4) + 3];
            if (!Convert.TryFromBase64String(content, buffer, out var n))
            {
                errors.Add("contentBase64 is not valid base64");
            }
            else if (n > MaxInlineBytes)
            {
                errors.Add($"contentBase64 decodes to {n} bytes; inline content is limited to {MaxInlineBytes} bytes (upload larger objects through the objects API or a sourceUrl)");
            }
        }

        if (sha is not null && !Sha256Hex().IsMatch(sha))
        {
            errors.Add("sha256 must be 64 lowercase hex digits");
        }

        return new UploadInput(store, key, url, content, contentType, sha);
    }

    private static InvokeInput ReadInvoke(Fields f, List<string> errors)
    {
        var function = f.String("function", required: true) ?? "";
        if (function.Length > 0 && !Name().IsMatch(function))
        {
            errors.Add($"function must be a name of lowercase letters, digits and '-', not '{function}'");
        }

        var version = f.Int("version", 1, int.MaxValue);
        var evt = f.Raw("event") ?? JsonSerializer.SerializeToElement(new Dictionary<string, object>());
        return new InvokeInput(function, version, evt);
    }

    private static JobInput ReadJob(Fields f, List<string> errors)
    {
        var command = f.String("command", required: true) ?? "";
        var args = new List<string>();
        if (f.Raw("args") is { } a)
        {
            if (a.ValueKind != JsonValueKind.Array || a.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            {
                errors.Add("args must be an array of strings");
            }
            else
            {
                args.AddRange(a.EnumerateArray().Select(x => x.GetString()!));
            }
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (f.Raw("env") is { } e)
        {
            if (e.ValueKind != JsonValueKind.Object || e.EnumerateObject().Any(x => x.Value.ValueKind != JsonValueKind.String))
            {
                errors.Add("env must be an object of string values");
            }
            else
            {
                foreach (var p in e.EnumerateObject())
                {
                    if (!EnvName().IsMatch(p.Name))
                    {
                        errors.Add($"env name '{p.Name}' is not a valid variable name");
                    }

                    env[p.Name] = p.Value.GetString()!;
                }
            }
        }

        var timeout = f.Int("timeoutSeconds", 1, MaxTimeoutSeconds) ?? DefaultTimeoutSeconds;
        return new JobInput(command, args, env, timeout);
    }

    /// <summary>An object key as the stores accept it: relative, no empty, '.' or '..' segments, at most 1024 characters.</summary>
    public static string? KeyProblem(string key)
    {
        if (key.Length is 0 or > 1024)
        {
            return "must have 1 to 1024 characters";
        }

        if (key.StartsWith('/') || key.Contains('\\', StringComparison.Ordinal) || key.Any(char.IsControl))
        {
            return "must be relative, without backslashes or control characters";
        }

        return key.Split('/').Any(s => s is "" or "." or "..") ? "must not have empty, '.' or '..' segments" : null;
    }

    [GeneratedRegex("^[a-f0-9]{64}$")]
    private static partial Regex Sha256Hex();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    /// <summary>Reads fields of one input object, collecting errors and remembering which fields were read.</summary>
    private sealed class Fields(JsonElement obj, List<string> errors)
    {
        private readonly HashSet<string> _known = new(StringComparer.Ordinal);

        public JsonElement? Raw(string name)
        {
            _known.Add(name);
            return obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;
        }

        public string? String(string name, bool required)
        {
            var v = Raw(name);
            if (v is null)
            {
                if (required)
                {
                    errors.Add($"{name} is required");
                }

                return null;
            }

            if (v.Value.ValueKind != JsonValueKind.String || v.Value.GetString() is not { Length: > 0 } s)
            {
                errors.Add($"{name} must be a non-empty string");
                return null;
            }

            return s;
        }

        public int? Int(string name, int min, int max)
        {
            var v = Raw(name);
            if (v is null)
            {
                return null;
            }

            if (v.Value.ValueKind != JsonValueKind.Number || !v.Value.TryGetInt32(out var n) || n < min || n > max)
            {
                errors.Add($"{name} must be an integer from {min} to {max}");
                return null;
            }

            return n;
        }

        public string Store(string name)
        {
            var s = String(name, required: false) ?? DefaultStore;
            if (!Name().IsMatch(s))
            {
                errors.Add($"{name} must name a store (lowercase letters, digits and '-'), not '{s}'");
            }

            return s;
        }

        public string Key(string name)
        {
            var s = String(name, required: true) ?? "";
            if (s.Length > 0 && KeyProblem(s) is { } problem)
            {
                errors.Add($"{name} '{s}' {problem}");
            }

            return s;
        }

        public void RejectUnknown()
        {
            foreach (var p in obj.EnumerateObject().Where(p => !_known.Contains(p.Name)))
            {
                errors.Add($"unknown field '{p.Name}' (known: {string.Join(", ", _known.Order(StringComparer.Ordinal))})");
            }
        }
    }
}
