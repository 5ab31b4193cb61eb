using System.Globalization;
using System.Text.Json;
using Serilog.Events;
using Serilog.Formatting;

namespace Autonomic.Cli.Hosting;

/// <summary>
/// One JSON object per line with Elastic Common Schema field names, so Filebeat or Logstash ingest the control
/// plane's logs unchanged: <c>@timestamp</c>, <c>log.level</c>, <c>message</c>, <c>log.logger</c>, <c>service.name</c>,
/// <c>event.action</c>, <c>trace.id</c>, <c>span.id</c>, <c>http.request.id</c>, <c>error.type|message|stack_trace</c>,
/// <c>ecs.version</c>; every other property of the event goes under <c>labels</c> (as text).
/// </summary>
public sealed class EcsJsonFormatter(string serviceName) : ITextFormatter
{
    private const string EcsVersion = "8.11.0";

    // Properties with an ECS field of their own; the rest become labels.
    private static readonly Dictionary<string, string> Mapped = new(StringComparer.Ordinal)
    {
        ["SourceContext"] = "log.logger",
        ["RequestId"] = "http.request.id",
        ["TraceId"] = "trace.id",
        ["SpanId"] = "span.id",
        ["EventAction"] = "event.action",
        ["Action"] = "event.action",
        ["InstanceId"] = "autonomic.instance.id",
        ["Service"] = "autonomic.service",
    };

    public void Format(LogEvent logEvent, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(logEvent);
        ArgumentNullException.ThrowIfNull(output);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("@timestamp", logEvent.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("log.level", Level(logEvent.Level));
            json.WriteString("message", Message(logEvent));
            json.WriteString("service.name", serviceName);
            json.WriteString("ecs.version", EcsVersion);
            if (logEvent.Properties.TryGetValue("EventId", out var eventId) && eventId is StructureValue s && s.Properties.FirstOrDefault(p => p.Name == "Name")?.Value is ScalarValue { Value: string name })
            {
                json.WriteString("event.code", name);
            }

            var labels = new List<(string Key, string Value)>();
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in logEvent.Properties)
            {
                if (key == "EventId")
                {
                    continue;
                }

                if (Mapped.TryGetValue(key, out var field))
                {
                    if (written.Add(field))
                    {
                        json.WriteString(field, Text(value));
                    }
                }
                else
                {
                    labels.Add((key, Text(value)));
                }
            }

            if (logEvent.TraceId is { } traceId && written.Add("trace.id"))
            {
                json.WriteString("trace.id", traceId.ToHexString());
            }

            if (logEvent.SpanId is { } spanId && written.Add("span.id"))
            {
                json.WriteString("span.id", spanId.ToHexString());
            }

            if (logEvent.Exception is { } ex)
            {
                json.WriteString("error.type", ex.GetType().FullName);
                json.WriteString("error.message", ex.Message);
                json.WriteString("error.stack_trace", ex.ToString());
            }

            if (labels.Count > 0)
            {
                json.WriteStartObject("labels");
                foreach (var (key, value) in labels)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        output.Write(System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.Write('\n');
    }

    // The message as people read it: text values without the quotes Serilog's own rendering puts around them.
    private static string Message(LogEvent logEvent)
    {
        var text = new System.Text.StringBuilder();
        foreach (var token in logEvent.MessageTemplate.Tokens)
        {
            if (token is Serilog.Parsing.PropertyToken property && logEvent.Properties.TryGetValue(property.PropertyName, out var value))
            {
                text.Append(Text(value));
            }
            else
            {
                text.Append(token.ToString());
            }
        }

        return text.ToString();
    }

    private static string Level(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "trace",
        LogEventLevel.Debug => "debug",
        LogEventLevel.Information => "info",
        LogEventLevel.Warning => "warn",
        LogEventLevel.Error => "error",
        _ => "fatal",
    };

    private static string Text(LogEventPropertyValue value) => value is ScalarValue { Value: var v }
        ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? ""
        : value.ToString();
}
