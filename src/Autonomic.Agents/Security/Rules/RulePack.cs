using System.Globalization;
using System.Text.RegularExpressions;
using Autonomic.Core.Security;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Agents.Security.Rules;

/// <summary>A rule file is wrong; the message names the file, line and field.</summary>
public sealed class RulePackException(string message) : Exception(message);

/// <summary>One rule of a rule pack (see <c>rules/default.yaml</c> for the format).</summary>
public sealed record SecurityRule
{
    public required string Id { get; init; }
    /// <summary><c>match</c> or <c>threshold</c>.</summary>
    public required string Kind { get; init; }
    public string? Description { get; init; }
    public required string Class { get; init; }
    public Severity Severity { get; init; } = Severity.Medium;
    public string Response { get; init; } = "none";
    /// <summary>Match: the event field looked at.</summary>
    public string? Field { get; init; }
    /// <summary>Match: literals, any of which must occur (case-insensitive).</summary>
    public IReadOnlyList<string> Any { get; init; } = [];
    /// <summary>Match: a regular expression that must also match.</summary>
    public string? Pattern { get; init; }
    /// <summary>Match: HTTP statuses the event must have.</summary>
    public IReadOnlyList<int> Status { get; init; } = [];
    /// <summary>Match: event kinds one of which the event must have. Threshold: what counts.</summary>
    public IReadOnlyList<string> On { get; init; } = [];
    public int MaxRetry { get; init; } = 5;
    public TimeSpan FindTime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Threshold: <c>scanner</c> labels the source's later requests as scanner traffic.</summary>
    public string? Marks { get; init; }
    public bool Enabled { get; init; } = true;
    /// <summary>Where it was read from (file:line).</summary>
    public string Origin { get; init; } = "";

    [System.Text.Json.Serialization.JsonIgnore]
    public Regex? Regex { get; init; }
}

/// <summary>
/// The signature rules as data: the built-in pack (embedded <c>rules/default.yaml</c>) plus every <c>*.yaml</c>/<c>*.yml</c>
/// file of the given directories, read in name order. A later rule with the id of an earlier one replaces it.
/// </summary>
public sealed class RulePack
{
    private static readonly string[] Kinds = ["match", "threshold"];
    private static readonly string[] Fields = ["target", "path", "query", "user_agent", "method", "line", "message", "status"];
    private static readonly string[] Responses = ["none", "block", "suspend_key", "rate_limit", "quarantine"];
    private static readonly string[] EventKinds = ["auth_failure", "invalid_user", "auth_success", "request", "error"];
    private static readonly string[] Keys =
        ["id", "kind", "description", "class", "severity", "response", "field", "any", "pattern", "status", "on", "maxretry", "findtime", "marks", "enabled"];

    public RulePack(IReadOnlyList<SecurityRule> rules) => Rules = rules;

    public IReadOnlyList<SecurityRule> Rules { get; }

    /// <summary>The built-in rules.</summary>
    public static RulePack Default() => Load([]);

    /// <summary>The built-in rules, then those of <paramref name="directories"/>.</summary>
    public static RulePack Load(IEnumerable<string> directories)
    {
        var byId = new Dictionary<string, SecurityRule>(StringComparer.Ordinal);
        var order = new List<string>();
        void Add(IEnumerable<SecurityRule> rules)
        {
            foreach (var rule in rules)
            {
                if (!byId.ContainsKey(rule.Id))
                {
                    order.Add(rule.Id);
                }

                byId[rule.Id] = rule;
            }
        }

        using (var stream = typeof(RulePack).Assembly.GetManifestResourceStream("Autonomic.Agents.Security.Rules.default.yaml")
                            ?? throw new InvalidOperationException("the built-in rule pack is missing from the assembly"))
        using (var reader = new StreamReader(stream))
        {
            Add(Parse(reader.ReadToEnd(), "rules/default.yaml"));
        }

        foreach (var dir in directories)
        {
            if (!Directory.Exists(dir))
            {
                throw new RulePackException($"{dir}: rule directory does not exist");
            }

            foreach (var file in Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                Add(Parse(File.ReadAllText(file), file));
            }
        }

        return new RulePack(order.Select(id => byId[id]).Where(r => r.Enabled).ToList());
    }

    /// <summary>Parses one rule file; errors name <paramref name="file"/>, the line and the field.</summary>
    public static IReadOnlyList<SecurityRule> Parse(string yaml, string file)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new RulePackException($"{file}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {e.Message}");
        }

        if (stream.Documents.Count == 0)
        {
            return [];
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root ||
            !root.Children.TryGetValue(new YamlScalarNode("rules"), out var rulesNode) || rulesNode is not YamlSequenceNode list)
        {
            throw Fail(file, stream.Documents[0].RootNode, "rules", "a rule file is a mapping with a list under rules:");
        }

        var rules = new List<SecurityRule>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int index = 0;
        foreach (var node in list.Children)
        {
            var field = $"rules[{index++}]";
            if (node is not YamlMappingNode map)
            {
                throw Fail(file, node, field, "each rule is a mapping (id, kind, class, ...)");
            }

            foreach (var key in map.Children.Keys)
            {
                var name = (key as YamlScalarNode)?.Value ?? "";
                if (!Keys.Contains(name))
                {
                    throw Fail(file, key, $"{field}.{name}", $"unknown key; expected one of {string.Join(", ", Keys)}");
                }
            }

            string? Text(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v)
                ? v is YamlScalarNode s ? s.Value : throw Fail(file, v, $"{field}.{key}", "expected a single value")
                : null;
            IReadOnlyList<string> List(string key)
            {
                if (!map.Children.TryGetValue(new YamlScalarNode(key), out var v))
                {
                    return [];
                }

                return v switch
                {
                    YamlSequenceNode seq => seq.Children.Select(c => c is YamlScalarNode { Value: { } s } ? s : throw Fail(file, c, $"{field}.{key}", "expected a list of values")).ToList(),
                    YamlScalarNode { Value: { } one } => [one],
                    _ => throw Fail(file, v, $"{field}.{key}", "expected a list"),
                };
            }

            YamlNode At(string key) => map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : map;

            var id = Text("id") ?? throw Fail(file, map, $"{field}.id", "missing; every rule has an id");
            field = $"rules.{id}";
            if (!seen.Add(id))
            {
                throw Fail(file, At("id"), field, "duplicate rule id in this file");
            }

            var kind = Text("kind") ?? throw Fail(file, map, field + ".kind", "missing; match or threshold");
            if (!Kinds.Contains(kind))
            {
                throw Fail(file, At("kind"), field + ".kind", $"'{kind}' is not a rule kind; expected match or threshold");
            }

            var cls = Text("class") ?? throw Fail(file, map, field + ".class", "missing; the attack class, e.g. sqli");
            var severity = Text("severity") switch
            {
                null => Severity.Medium,
                "low" => Severity.Low,
                "medium" => Severity.Medium,
                "high" => Severity.High,
                var other => throw Fail(file, At("severity"), field + ".severity", $"'{other}' is not low, medium or high"),
            };
            var response = Text("response") ?? "none";
            if (!Responses.Contains(response))
            {
                throw Fail(file, At("response"), field + ".response", $"'{response}' is not one of {string.Join(", ", Responses)}");
            }

            var fieldName = Text("field");
            if (fieldName is not null && !Fields.Contains(fieldName))
            {
                throw Fail(file, At("field"), field + ".field", $"'{fieldName}' is not one of {string.Join(", ", Fields)}");
            }

            var on = List("on");
            foreach (var o in on)
            {
                if (!(EventKinds.Contains(o) || o.StartsWith("class:", StringComparison.Ordinal) ||
                      (o.StartsWith("status:", StringComparison.Ordinal) && int.TryParse(o.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out _))))
                {
                    throw Fail(file, At("on"), field + ".on", $"'{o}' is not an event kind ({string.Join(", ", EventKinds)}), status:N or class:NAME");
                }
            }

            var statuses = new List<int>();
            foreach (var s in List("status"))
            {
                statuses.Add(int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var code) && code is >= 100 and <= 599
                    ? code
                    : throw Fail(file, At("status"), field + ".status", $"'{s}' is not an HTTP status"));
            }

            Regex? regex = null;
            var pattern = Text("pattern");
            if (pattern is not null)
            {
                try
                {
                    regex = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, TimeSpan.FromMilliseconds(50));
                }
                catch (ArgumentException e)
                {
                    throw Fail(file, At("pattern"), field + ".pattern", "invalid regular expression: " + e.Message);
                }
            }

            int maxRetry = 5;
            if (Text("maxretry") is { } mr && !(int.TryParse(mr, NumberStyles.None, CultureInfo.InvariantCulture, out maxRetry) && maxRetry is >= 1 and <= 1_000_000))
            {
                throw Fail(file, At("maxretry"), field + ".maxretry", $"'{mr}' is not a count from 1 to 1000000");
            }

            var findTime = TimeSpan.FromMinutes(10);
            if (Text("findtime") is { } ft && !(TryDuration(ft, out findTime) && findTime > TimeSpan.Zero))
            {
                throw Fail(file, At("findtime"), field + ".findtime", $"'{ft}' is not a duration like 600, 30s, 10m, 1h, 1d");
            }

            bool enabled = Text("enabled") is not { } en || en is "true" or "yes" or "on"
                ? true
                : en is "false" or "no" or "off" ? false : throw Fail(file, At("enabled"), field + ".enabled", $"'{en}' is not true or false");

            var any = List("any");
            if (kind == "match" && any.Count == 0 && regex is null && statuses.Count == 0 && on.Count == 0 && enabled)
            {
                throw Fail(file, map, field, "a match rule needs any:, pattern:, status: or on:");
            }

            if (kind == "match" && (any.Count > 0 || regex is not null) && fieldName is null)
            {
                throw Fail(file, map, field + ".field", $"missing; which field any:/pattern: look at ({string.Join(", ", Fields)})");
            }

            if (kind == "threshold" && on.Count == 0 && enabled)
            {
                throw Fail(file, map, field + ".on", "missing; what a threshold rule counts, e.g. [auth_failure]");
            }

            rules.Add(new SecurityRule
            {
                Id = id,
                Kind = kind,
                Description = Text("description"),
                Class = cls,
                Severity = severity,
                Response = response,
                Field = fieldName,
                Any = any.Select(a => a.ToLowerInvariant()).ToList(),
                Pattern = pattern,
                Regex = regex,
                Status = statuses,
                On = on,
                MaxRetry = maxRetry,
                FindTime = findTime,
                Marks = Text("marks"),
                Enabled = enabled,
                Origin = $"{file}:{map.Start.Line}",
            });
        }

        return rules;
    }

    /// <summary>Seconds (<c>600</c>) or a number with s, m, h or d.</summary>
    public static bool TryDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        if (text.Length == 0)
        {
            return false;
        }

        double unit = text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, 'w' => 604800, _ => 0 };
        var number = unit == 0 ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || !double.IsFinite(n))
        {
            return false;
        }

        // Longer than a century is no useful duration (and would overflow a TimeSpan or a date).
        var seconds = n * (unit == 0 ? 1 : unit);
        if (seconds > 100 * 365.25 * 86400)
        {
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    private static RulePackException Fail(string file, YamlNode node, string field, string reason) =>
        new($"{file}:{node.Start.Line}:{node.Start.Column}: {field}: {reason}");
}
