using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Core.Model;

namespace Autonomic.Gateway.Services;

/// <summary>
/// How the API reads request bodies: the wire conventions of <see cref="JsonDefaults"/>, but strict (unknown fields and
/// nulls where a value is required are errors) and with durations written as <c>500ms</c>, <c>2s</c>, <c>1m</c>,
/// <c>1h</c> or <c>hh:mm:ss</c>.
/// </summary>
public static class SpecJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonDefaults.Options)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            MaxDepth = 32,
        };
        options.Converters.Add(new DurationConverter());
        options.Converters.Add(new NullableDurationConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Parses a duration; null when <paramref name="text"/> is not one.</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        (string Suffix, double Ms)[] units = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)];
        foreach (var (suffix, ms) in units)
        {
            if (t.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(t[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)
                && n * ms <= TimeSpan.MaxValue.TotalMilliseconds / 2)
            {
                return TimeSpan.FromMilliseconds(n * ms);
            }
        }

        return TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out var span) ? span : null;
    }

    private sealed class DurationConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && ParseDuration(reader.GetString()!) is { } d
                ? d
                : throw new JsonException("expected a duration such as \"500ms\", \"2s\", \"1m\" or \"00:00:02\"");

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToString("c", CultureInfo.InvariantCulture));
    }

    private sealed class NullableDurationConverter : JsonConverter<TimeSpan?>
    {
        public override bool HandleNull => true;

        public override TimeSpan? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? null : new DurationConverter().Read(ref reader, typeof(TimeSpan), options);

        public override void Write(Utf8JsonWriter writer, TimeSpan? value, JsonSerializerOptions options)
        {
            if (value is { } v)
            {
                writer.WriteStringValue(v.ToString("c", CultureInfo.InvariantCulture));
            }
            else
            {
                writer.WriteNullValue();
            }
        }
    }
}
