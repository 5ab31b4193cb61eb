using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

internal sealed partial class FleetReader
{
    /// <summary>
    /// One YAML mapping with its field path and allowed keys; unknown keys fail on construction. Typed getters
    /// return null for an absent key (or an explicit null) and fail with the value's position when it is invalid.
    /// </summary>
    private sealed class Section
    {
        private readonly FleetReader _reader;
        private readonly Dictionary<string, (YamlNode Key, YamlNode Value)> _fields = new(StringComparer.Ordinal);

        private Section(FleetReader reader, YamlNode node, string path)
        {
            _reader = reader;
            Node = node;
            Path = path;
        }

        public YamlNode Node { get; }

        public string Path { get; }

        public static Section Of(FleetReader reader, YamlNode node, string path, IReadOnlyCollection<string> allowed)
        {
            var section = new Section(reader, node, path);
            if (node is YamlScalarNode scalar && IsNull(scalar))
            {
                return section;
            }

            if (node is not YamlMappingNode map)
            {
                throw reader.Fail(node, path, $"expected a mapping with keys like {string.Join(", ", allowed.Take(3))}, got {Describe(node)}");
            }

            foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
            {
                if (pair.Key is not YamlScalarNode { Value: { } key })
                {
                    throw reader.Fail(pair.Key, path, "keys must be plain names");
                }

                if (!allowed.Contains(key))
                {
                    throw reader.Fail(pair.Key, section.Field(key), FleetValues.Unknown("key", key, allowed));
                }

                section._fields[key] = (pair.Key, pair.Value);
            }

            return section;
        }

        public static bool IsNull(YamlScalarNode scalar) =>
            scalar.Style is ScalarStyle.Plain or ScalarStyle.Any && scalar.Value is null or "" or "~" or "null" or "Null" or "NULL";

        public static string Describe(YamlNode node) => node switch
        {
            YamlScalarNode s when IsNull(s) => "nothing",
            YamlScalarNode s => FleetValues.Quote(s.Value ?? ""),
            YamlSequenceNode => "a list",
            YamlMappingNode => "a mapping",
            _ => "an alias",
        };

        public string Field(string key) => Path.Length == 0 ? key : Path + "." + key;

        public bool TryGet(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out YamlNode? value, out YamlNode? keyNode)
        {
            if (_fields.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry) && !(entry.Value is YamlScalarNode s && IsNull(s)))
            {
                value = entry.Value;
                keyNode = entry.Key;
                return true;
            }

            value = null;
            keyNode = null;
            return false;
        }

        public Section? Child(string key, IReadOnlyCollection<string> allowed) =>
            _fields.TryGetValue(key, out (YamlNode Key, YamlNode Value) entry) ? Of(_reader, entry.Value, Field(key), allowed) : null;

        /// <summary>A scalar's text, checked by <paramref name="check"/> (null reason means valid).</summary>
        public string? Text(string key, Func<string, string?>? check)
        {
            if (!TryGet(key, out YamlNode? node, out _))
            {
                return null;
            }

            if (node is not YamlScalarNode { Value: { } text })
            {
                throw _reader.Fail(node, Field(key), $"expected a single value, got {Describe(node)}");
            }

            if (check?.Invoke(text) is { } reason)
            {
                throw _reader.Fail(node, Field(key), reason);
            }

            return text;
        }

        public int? Int(string key, int min, int max)
        {
            long value = 0;
            return Text(key, t => FleetValues.Integer(t, min, max, out value)) is null ? null : (int)value;
        }

        public double? Double(string key, double min, double max)
        {
            double value = 0;
            return Text(key, t => FleetValues.Number(t, min, max, out value)) is null ? null : value;
        }

        public bool? Bool(string key)
        {
            bool value = false;
            return Text(key, t => FleetValues.Boolean(t, lenient: false, out value)) is null ? null : value;
        }

        public TimeSpan? Duration(string key, bool allowZero)
        {
            TimeSpan value = default;
            return Text(key, t => FleetValues.Duration(t, allowZero, out value)) is null ? null : value;
        }

        public long? Size(string key)
        {
            long value = 0;
            return Text(key, t => FleetValues.Size(t, out value)) is null ? null : value;
        }

        public IReadOnlyList<string>? StringList(string key)
        {
            if (!TryGet(key, out YamlNode? node, out _))
            {
                return null;
            }

            if (node is not YamlSequenceNode list)
            {
                throw _reader.Fail(node, Field(key), $"expected a list like [--flag, value], got {Describe(node)}");
            }

            var items = new List<string>(list.Children.Count);
            for (int i = 0; i < list.Children.Count; i++)
            {
                items.Add(list.Children[i] is YamlScalarNode { Value: { } v } && !IsNull((YamlScalarNode)list.Children[i])
                    ? v
                    : throw _reader.Fail(list.Children[i], $"{Field(key)}[{i}]", $"expected a single value, got {Describe(list.Children[i])}"));
            }

            return items;
        }

        public IReadOnlyDictionary<string, string>? StringMap(string key)
        {
            if (!TryGet(key, out YamlNode? node, out _))
            {
                return null;
            }

            if (node is not YamlMappingNode map)
            {
                throw _reader.Fail(node, Field(key), $"expected a mapping of NAME: value, got {Describe(node)}");
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
            {
                string name = pair.Key is YamlScalarNode { Value: { } k } ? k : throw _reader.Fail(pair.Key, Field(key), "keys must be plain names");
                if (!FleetFile.EnvName().IsMatch(name))
                {
                    throw _reader.Fail(pair.Key, $"{Field(key)}.{name}", "an environment variable name has letters, digits and '_' and does not start with a digit");
                }

                result[name] = pair.Value switch
                {
                    YamlScalarNode s when IsNull(s) => "",
                    YamlScalarNode { Value: { } v } => v,
                    _ => throw _reader.Fail(pair.Value, $"{Field(key)}.{name}", $"expected a single value, got {Describe(pair.Value)}"),
                };
            }

            return result;
        }
    }
}
